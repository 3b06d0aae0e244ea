"""The spec loader: the project's spec is valid and resolvable, and a malformed one fails loudly."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shared.spec import SpecError, load, parse, spec
from shared.targets import load_targets

TARGETS = frozenset(load_targets())

VALID = """
[errors.not_found]
status = 404
message = "Nothing is found at this path."

[[behaviour]]
id = "hello"
purpose = "Greet."
seed = "000"
implementations.aiohttp = ["aiohttp_app.basics.views:hello"]
implementations.django = ["django_app.basics.views:hello"]

[[behaviour.case]]
name = "greets"
request = {path = "/"}
expect = {status = 200, text = "Hello, Anonymous"}

[[behaviour.case]]
name = "echoes"
websocket = "/ws/echo"
steps = [{send_text = "a"}, {expect_text = "a"}, {close = 1000}, {expect_close = 1000}]
"""


def resolve(ref: str) -> object:
    module_name, _, qualname = ref.partition(":")
    found: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def test_the_project_spec_loads() -> None:
    loaded = spec()
    assert [b.id for b in loaded.behaviours][:3] == ["hello", "json", "delay"]
    assert all(behaviour.cases for behaviour in loaded.behaviours)


@pytest.mark.parametrize(
    "ref",
    sorted({ref for b in spec().behaviours for refs in b.implementations.values() for ref in refs}),
)
def test_every_implementation_reference_resolves(ref: str) -> None:
    assert resolve(ref) is not None


def test_error_codes_used_by_cases_exist_with_their_status() -> None:
    for behaviour in spec().behaviours:
        for case in behaviour.cases:
            error = getattr(case, "expect", None) and case.expect.error  # type: ignore[union-attr]
            if error:
                assert spec().errors[error.code].status == case.expect.status  # type: ignore[union-attr]


def test_the_valid_example_parses() -> None:
    parsed = parse(Path("example.toml"), VALID, TARGETS)
    assert parsed.behaviour("hello").case_id(1) == "hello-2"


BROKEN = [
    pytest.param(
        VALID.replace('purpose = "Greet."\n', ""),
        "behaviour 'hello'",
        "purpose",
        "is required",
        id="missing-purpose",
    ),
    pytest.param(
        VALID.replace("status = 200", 'status = "200"'),
        "behaviour 'hello', case 1",
        "expect.status",
        "must be int",
        id="status-not-int",
    ),
    pytest.param(
        VALID.replace('path = "/"', 'path = "no-slash"'),
        "behaviour 'hello', case 1",
        "request.path",
        "must start with '/'",
        id="relative-path",
    ),
    pytest.param(
        VALID.replace('text = "Hello, Anonymous"', 'text = "x", json = {a = 1}'),
        "behaviour 'hello', case 1",
        "expect",
        "at most one body expectation",
        id="two-bodies",
    ),
    pytest.param(
        VALID.replace('{send_text = "a"}', '{send_txt = "a"}'),
        "behaviour 'hello', case 2",
        "steps[0]",
        "must be one of",
        id="unknown-step",
    ),
    pytest.param(
        VALID.replace("{close = 1000}", "{close = 99}"),
        "behaviour 'hello', case 2",
        "steps[2].close",
        "close code",
        id="bad-close-code",
    ),
    pytest.param(
        VALID.replace('"aiohttp_app.basics.views:hello"', '"aiohttp_app.basics.views.hello"'),
        "behaviour 'hello'",
        "implementations.aiohttp[0]",
        "module>:<qualname>",
        id="reference-without-colon",
    ),
    pytest.param(
        VALID.replace('"aiohttp_app.basics.views:hello"', '"django_app.basics.views:hello"'),
        "behaviour 'hello'",
        "implementations.aiohttp[0]",
        "aiohttp_app.<module>",
        id="reference-into-the-other-app",
    ),
    pytest.param(
        VALID.replace(
            'text = "Hello, Anonymous"}', 'text = "x"}\nxfail = {nowhere = "a reason long enough"}'
        ),
        "behaviour 'hello', case 1",
        "xfail.nowhere",
        "unknown target",
        id="xfail-unknown-target",
    ),
    pytest.param(
        VALID.replace('text = "Hello, Anonymous"}', 'text = "x"}\nxfail = {aiohttp = "why"}'),
        "behaviour 'hello', case 1",
        "xfail.aiohttp",
        "needs a reason",
        id="xfail-without-reason",
    ),
    pytest.param(
        VALID.replace('text = "Hello, Anonymous"}', 'error = "teapot"}'),
        "behaviour 'hello', case 1",
        "expect.error",
        "unknown error code 'teapot'",
        id="unknown-error-code",
    ),
    pytest.param(
        VALID.replace("status = 200, text", "status = 200, colour = 1, text"),
        "behaviour 'hello', case 1",
        "expect.colour",
        "unknown field",
        id="unknown-field",
    ),
    pytest.param(
        VALID + VALID.split("[[behaviour]]")[1].join(["[[behaviour]]", ""]),
        "behaviour 'hello'",
        "id",
        "earlier behaviour",
        id="duplicate-id",
    ),
    pytest.param(
        VALID.replace("status = 404", "status = 200"),
        "errors",
        "not_found.status",
        "from 400 to 599",
        id="error-with-success-status",
    ),
    pytest.param(VALID + "\n[[oops", "file", "(toml)", "", id="not-toml"),
]


@pytest.mark.parametrize(("text", "where", "field", "problem"), BROKEN)
def test_a_malformed_spec_names_file_behaviour_and_field(
    tmp_path: Path, text: str, where: str, field: str, problem: str
) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load(path, TARGETS)
    error = raised.value
    assert (error.path, error.where, error.field) == (path, where, field)
    assert problem in error.problem
    assert str(path) in str(error) and where in str(error) and repr(field) in str(error)


def test_a_spec_directory_names_the_file_at_fault(tmp_path: Path) -> None:
    (tmp_path / "00-errors.toml").write_text(VALID.split("[[behaviour]]")[0], encoding="utf-8")
    part = "[[behaviour]]" + VALID.split("[[behaviour]]")[1]
    (tmp_path / "10-first.toml").write_text(part, encoding="utf-8")
    assert [b.id for b in load(tmp_path, TARGETS).behaviours] == ["hello"]
    second = part.replace('id = "hello"', 'id = "again"').replace("status = 200", "status = 2000")
    (tmp_path / "20-second.toml").write_text(second, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load(tmp_path, TARGETS)
    assert raised.value.path == tmp_path / "20-second.toml"
    assert raised.value.field == "expect.status"


def test_an_error_code_is_defined_once_across_files(tmp_path: Path) -> None:
    (tmp_path / "00-errors.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "10-more.toml").write_text(VALID.split("[[behaviour]]")[0], encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load(tmp_path, TARGETS)
    assert (raised.value.path, raised.value.field) == (tmp_path / "10-more.toml", "not_found")
