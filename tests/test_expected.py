"""The registry of expected differences: it loads, refuses a malformed entry, marks the tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from shared.harness.expected import Difference, Registry, What, expected, load_expected
from shared.harness.raw import exchange
from shared.harness.tables import block, with_block
from shared.harness.targets import PROJECT_ROOT
from tests.plugins.expected import marks
from tests.plugins.servers import Live, parametrize_targets

WHY = '"daphne drops it (daphne 4.2.3, daphne/ws_protocol.py:206)"'
GOOD = f"""
[[difference]]
what = {{ behaviour = "ws-echo", case = "an empty text message" }}
targets = ["django-daphne"]
kind = "strict"
why = {WHY}
"""


def test_the_project_s_registry_names_every_kind_of_difference() -> None:
    registry = expected()
    forms = {form for entry in registry.differences for form in entry.what.forms()}
    assert forms == {"lacks", "behaviour+case", "test", "lifecycle", "autobahn", "requests", "http"}
    assert registry.lacks("django-wsgi").keys() == {
        "websocket", "overlap", "streaming", "process-loop"
    }  # fmt: skip
    assert registry.lacks("aiohttp") == {}
    assert not registry.autobahn("django-hypercorn")["6.4.3"].strict


def test_an_entry_is_found_by_what_and_target(tmp_path: Path) -> None:
    path = tmp_path / "expected.toml"
    path.write_text(GOOD, encoding="utf-8")
    registry = load_expected(path)
    entry = registry.on(What(behaviour="ws-echo", case="an empty text message"), "django-daphne")
    assert entry is not None and entry.strict and "ws_protocol.py:206" in entry.why
    assert registry.on(What(behaviour="ws-echo", case="an empty text message"), "aiohttp") is None


def entry(
    what: str, targets: str = '["django-daphne"]', kind: str = "strict", why: str = WHY
) -> str:
    return f"[[difference]]\nwhat = {what}\ntargets = {targets}\nkind = {kind!r}\nwhy = {why}\n"


CASE = '{ behaviour = "ws-echo", case = "an empty text message" }'
REQUESTS = '{ requests = "a POST of text to /files" }'
SHAPE = """request = { method = "POST", target = "^/files$", headers = { content-type = "^text/" } }
answer = { status = 400, body = "empty" }
example = { target = "/files", method = "POST", headers = [["Content-Type", "text/plain"]] }
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(entry(CASE, targets='["nowhere"]'), "unknown target 'nowhere'", id="target"),
        pytest.param(entry(CASE, targets="[]"), "`targets` is empty", id="no-target"),
        pytest.param(
            entry('{ behaviour = "ws-echoes", case = "x" }'),
            "the spec has no behaviour 'ws-echoes'",
            id="behaviour",
        ),
        pytest.param(
            entry('{ behaviour = "ws-echo", case = "an empty txt message" }'),
            "behaviour 'ws-echo' has no case of that name",
            id="case",
        ),
        pytest.param(
            entry('{ case = "an empty text message" }'), "named by both", id="no-behaviour"
        ),
        pytest.param(
            entry(CASE, why='"daphne drops empty messages"'), "with a file:line", id="why-no-line"
        ),
        pytest.param(entry('{ lacks = "threads" }'), "unknown need 'threads'", id="need"),
        pytest.param(
            entry('{ lacks = "overlap" }', kind="timing-dependent"),
            "a lacked need is strict",
            id="lacks-by-timing",
        ),
        pytest.param(
            entry('{ lacks = "overlap", autobahn = "1.1.1" }'), "names one of", id="two-forms"
        ),
        pytest.param(entry("{}"), "names one of", id="no-form"),
        pytest.param(
            entry('{ test = "tests/test_parity.py::test_case[aiohttp-hello-1]" }'),
            "without parameters",
            id="test-with-parameters",
        ),
        pytest.param(
            entry('{ test = "tests/test_parity.py::test_cases" }'),
            "tests/test_parity.py defines no test_cases",
            id="test-unknown",
        ),
        pytest.param(
            entry('{ lifecycle = "idle-pong" }'), "unknown lifecycle check", id="lifecycle"
        ),
        pytest.param(entry('{ autobahn = "8.1.1" }'), "does not play it", id="autobahn-not-played"),
        pytest.param(entry('{ autobahn = "7.9" }'), None, id="autobahn-played"),
        pytest.param(entry('{ http = "date" }'), None, id="http-rule"),
        pytest.param(entry('{ http = "dates" }'), "checks no such rule", id="http-rule-unknown"),
        pytest.param(entry(CASE) + entry(CASE), "declared already, by difference 1", id="twice"),
        pytest.param(
            entry(REQUESTS), "have `request`, `answer` and `example`", id="requests-without-shape"
        ),
        pytest.param(
            entry(CASE) + SHAPE, "have `request`, `answer` and `example`", id="shape-of-a-case"
        ),
        pytest.param(
            entry(REQUESTS) + SHAPE.replace('target = "/files"', 'target = "/json"'),
            "its `example` is not one of its `request`s",
            id="example-not-of-the-shape",
        ),
        pytest.param(entry(REQUESTS) + SHAPE, None, id="requests"),
        pytest.param(
            entry(REQUESTS) + SHAPE.replace('body = "empty"', 'body = "empty", code = "x"'),
            "or an error `code`, not both",
            id="answer-body-and-code",
        ),
        pytest.param(
            entry(REQUESTS) + SHAPE.replace('body = "empty"', 'code = "no_such_code"'),
            "unknown error code 'no_such_code'",
            id="answer-code-unknown",
        ),
    ],
)
def test_a_malformed_entry_names_the_file_and_the_entry(
    tmp_path: Path, text: str, problem: str | None
) -> None:
    path = tmp_path / "expected.toml"
    path.write_text(text, encoding="utf-8")
    if problem is None:
        assert len(load_expected(path).differences) == 1
        return
    number = text.count("[[difference]]")
    with pytest.raises(ValueError, match=rf"^{re.escape(f'{path}: difference {number} (')}") as e:
        load_expected(path)
    assert problem in str(e.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (entry(CASE, kind="sometimes"), "`$.difference[0].kind`"),
        (entry(CASE, targets='"django-daphne"'), "`$.difference[0].targets`"),
        (GOOD + "reason = 'x'\n", "unknown field `reason` - at `$.difference[0]`"),
        (entry('{ lacks = "overlap", need = "x" }'), "`$.difference[0].what`"),
    ],
)
def test_a_mistyped_entry_names_the_file_and_the_entry(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "expected.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}: ")) as raised:
        load_expected(path)
    assert problem in str(raised.value)


REGISTRY = Registry(
    path=Path("expected.toml"),
    differences=(
        Difference(What(lacks="websocket"), ("django-wsgi",), "strict", "no upgrade (c.py:3)"),
        Difference(What(test="tests/t.py::test_x"), ("django-wsgi",), "strict", "known (a.py:1)"),
        Difference(What(lifecycle="idle-ping"), ("aiohttp",), "timing-dependent", "late (b.py:2)"),
    ),
)


def kinds(found: list[pytest.MarkDecorator]) -> list[tuple[str, Mapping[str, object]]]:
    return [(mark.name, mark.kwargs) for mark in found]


def test_what_a_target_lacks_comes_first_and_restarts_its_server() -> None:
    named = [What(test="tests/t.py::test_x")]
    assert kinds(marks(REGISTRY, "django-wsgi", ["websocket"], named)) == [
        ("xfail", {"reason": "no upgrade (c.py:3)", "strict": True}),
        ("lacking", {}),
    ]
    assert kinds(marks(REGISTRY, "django-wsgi", [], named)) == [
        ("xfail", {"reason": "known (a.py:1)", "strict": True})
    ]
    assert marks(REGISTRY, "aiohttp", ["websocket"], named) == []


def test_a_timing_dependent_difference_is_a_xfail_that_may_pass() -> None:
    found = marks(REGISTRY, "aiohttp", [], [What(lifecycle="idle-ping")])
    assert kinds(found) == [("xfail", {"reason": "late (b.py:2)", "strict": False})]


def run_declared(tmp_path: Path, kind: str, outcome: str) -> subprocess.CompletedProcess[str]:
    """A test on one target, declared `kind` in a registry of its own, that ends `outcome`."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(f"""\
            from pathlib import Path

            import tests.plugins.expected as plugin
            from shared.harness.expected import Difference, Registry, What

            pytest_plugins = ["tests.plugins.expected"]
            ENTRY = Difference(What(test="test_it.py::test_it"), ("aiohttp",), {kind!r}, "(x.py:1)")
            plugin.expected = lambda: Registry(Path("expected.toml"), (ENTRY,))
        """),
        encoding="utf-8",
    )
    (tmp_path / "test_it.py").write_text(
        textwrap.dedent(f"""\
            import pytest

            @pytest.mark.parametrize("target", ["aiohttp", "django-daphne"])
            def test_it(target):
                assert target != "aiohttp" or {outcome == "passes"}
        """),
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rxX", "-p", "no:cacheprovider", "test_it.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_strict_difference_that_passes_fails_the_suite(tmp_path: Path) -> None:
    failing = run_declared(tmp_path, "strict", "fails")
    assert failing.returncode == 0, failing.stdout
    assert "1 passed, 1 xfailed" in failing.stdout
    passing = run_declared(tmp_path, "strict", "passes")
    assert passing.returncode == 1, passing.stdout
    assert "[XPASS(strict)] (x.py:1)" in passing.stdout


def test_a_timing_dependent_difference_passes_either_way(tmp_path: Path) -> None:
    for outcome, summary in (("fails", "1 passed, 1 xfailed"), ("passes", "1 passed, 1 xpassed")):
        done = run_declared(tmp_path, "timing-dependent", outcome)
        assert done.returncode == 0, done.stdout
        assert summary in done.stdout


def test_a_block_is_replaced_between_its_markers_only() -> None:
    text = "before\n<!-- t:begin -->\nold\n<!-- t:end -->\nafter\n"
    assert with_block(text, "t", "new") == "before\n<!-- t:begin -->\nnew\n<!-- t:end -->\nafter\n"
    with pytest.raises(ValueError, match="no <!-- u:begin -->"):
        block(text, "u")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


REQUESTS_DECLARED = list(dict.fromkeys(e.what.requests or "" for e in expected().of("requests")))


@pytest.mark.parametrize("requests", REQUESTS_DECLARED)
async def test_a_target_answers_the_requests_declared_its_own_way(
    target: str, live: Live, requests: str
) -> None:
    """Each `requests` entry's example gets its answer on the targets it names; on the others,
    the app's answer, or one another entry declares for that target."""
    registry = expected()
    entries = [e for e in registry.of("requests") if e.what.requests == requests]
    assert all(e.example is not None and e.answer is not None for e in entries)
    request = entries[0].example.request(live.base_url)  # type: ignore[union-attr]
    answer = await exchange(live.base_url, request)
    told = f"{request.shell(live.base_url)}\n{answer.describe()}"
    named = [entry for entry in entries if target in entry.targets]
    for entry in named:
        assert entry.answer is not None
        assert entry.answer.matches(answer.status, answer.body), f"{told}\n{entry.why}"
    if not named:
        other = registry.server_answer(target, request, answer.status, answer.body)
        assert other is None or other.what.requests != requests, f"{told}\n{other.why}"
        assert other is not None or not any(
            entry.answer is not None and entry.answer.matches(answer.status, answer.body)
            for entry in entries
        ), f"{told}\nthe answer declared for {', '.join(entries[0].targets)}"
