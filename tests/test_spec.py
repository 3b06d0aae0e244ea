"""The spec loader: the project's spec is valid and resolvable, and a malformed one fails loudly."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from shared.spec import (
    ErrorRef,
    HttpCase,
    SpecError,
    WsCase,
    header_pairs,
    load,
    parse,
    placeholders,
    spec,
    substitute,
)

# The error codes the examples name are those of the catalogue, shared/runtime/errors.toml.
VALID = """
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
            for step in case.steps if isinstance(case, HttpCase) else ():
                if step.expect.error:
                    assert spec().errors[step.expect.error.code].status == step.expect.status


def test_the_valid_example_parses() -> None:
    parsed = parse(Path("example.toml"), VALID)
    assert parsed.behaviour("hello").case_id(1) == "hello-2"


def test_needs_add_up_from_behaviour_case_and_websocket() -> None:
    text = VALID.replace('seed = "000"', 'seed = "000"\nneeds = ["overlap"]').replace(
        'text = "Hello, Anonymous"}', 'text = "Hello, Anonymous"}\nneeds = ["streaming"]'
    )
    hello = parse(Path("example.toml"), text).behaviour("hello")
    assert hello.needs == {"overlap"}
    assert [case.needs for case in hello.cases] == [
        {"overlap", "streaming"},
        {"overlap", "websocket"},  # a websocket case needs websockets without saying so
    ]
    plain = parse(Path("example.toml"), VALID).behaviour("hello")
    assert [case.needs for case in plain.cases] == [set(), {"websocket"}]
    # A refused handshake is an HTTP answer: it needs websockets only where it says so.
    refused = VALID.replace(
        '[{send_text = "a"}, {expect_text = "a"}, {close = 1000}, {expect_close = 1000}]',
        "[{expect_refusal = {status = 404}}]",
    )
    (_, case) = parse(Path("example.toml"), refused).behaviour("hello").cases
    assert case.needs == set()


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
        "Expected `int`, got `str`",
        id="status-not-int",
    ),
    pytest.param(
        VALID.replace('path = "/"', 'path = "no-slash"'),
        "behaviour 'hello', case 1",
        "request.path",
        "Expected `str` matching regex '^/'",
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
        "steps[0].send_txt",
        "unknown field",
        id="unknown-step",
    ),
    pytest.param(
        VALID.replace("{close = 1000}", "{close = 99}"),
        "behaviour 'hello', case 2",
        "steps[2].close",
        "Expected `int` >= 1000",
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
        VALID.replace('text = "Hello, Anonymous"}', 'text = "x"}\nxfail = {aiohttp = "a reason"}'),
        "behaviour 'hello', case 1",
        "xfail",
        "unknown field",  # a difference is declared in shared/harness/expected.toml
        id="xfail-is-declared-in-the-registry",
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
        VALID.replace(
            "[[behaviour]]", '[errors.not_found]\nstatus = 404\nmessage = "x"\n\n[[behaviour]]'
        ),
        "file",
        "errors",
        "unknown field",
        id="errors-table-in-a-spec-file",
    ),
    pytest.param(
        VALID.replace('request = {path = "/"}\n', ""),
        "behaviour 'hello', case 1",
        "request",
        "is required",
        id="one-request-case-without-request",
    ),
    pytest.param(VALID + "\n[[oops", "file", "(toml)", "", id="not-toml"),
    pytest.param(
        VALID.replace('text = "Hello, Anonymous"}', 'text = "x"}\nneeds = ["threads"]'),
        "behaviour 'hello', case 1",
        "needs[0]",
        "Invalid enum value 'threads'",
        id="case-needs-unknown",
    ),
    pytest.param(
        VALID.replace('seed = "000"', 'seed = "000"\nneeds = ["overlap", 3]'),
        "behaviour 'hello'",
        "needs[1]",
        "Expected `str`, got `int`",
        id="behaviour-needs-not-a-name",
    ),
    pytest.param(
        VALID.replace('seed = "000"', 'seed = "000"\nneeds = "overlap"'),
        "behaviour 'hello'",
        "needs",
        "Expected `array`, got `str`",
        id="needs-not-a-list",
    ),
    pytest.param(
        VALID.replace('seed = "000"', 'seed = "000"\nstage = [{kind = "work", title = "x"}]'),
        "behaviour 'hello'",
        "stage[0]",
        "names the line it starts on in neither app",
        id="stage-without-a-line",
    ),
    pytest.param(
        VALID.replace(
            'seed = "000"', 'seed = "000"\nstage = [{kind = "parse", title = "x", aiohttp = "y"}]'
        ),
        "behaviour 'hello'",
        "stage[0].kind",
        "Invalid enum value 'parse'",
        id="stage-of-no-known-kind",
    ),
]


def spec_error(path: Path, text: str) -> SpecError:
    """The error loading `text`, written to `path`, fails with."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load(path)
    return raised.value


@pytest.mark.parametrize(("text", "where", "field", "problem"), BROKEN)
def test_a_malformed_spec_names_file_behaviour_and_field(
    tmp_path: Path, text: str, where: str, field: str, problem: str
) -> None:
    path = tmp_path / "spec.toml"
    error = spec_error(path, text)
    assert (error.path, error.where, error.field) == (path, where, field)
    assert problem in error.problem
    assert str(path) in str(error) and where in str(error) and repr(field) in str(error)


def test_a_spec_directory_names_the_file_at_fault(tmp_path: Path) -> None:
    part = VALID
    (tmp_path / "10-first.toml").write_text(part, encoding="utf-8")
    assert [b.id for b in load(tmp_path).behaviours] == ["hello"]
    second = part.replace('id = "hello"', 'id = "again"').replace("status = 200", "status = 2000")
    (tmp_path / "20-second.toml").write_text(second, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load(tmp_path)
    assert raised.value.path == tmp_path / "20-second.toml"
    assert raised.value.field == "expect.status"


# HTTP cases in steps, with variables, JSON and multipart bodies (part 2, data).
STEPS = """
[[behaviour]]
id = "items"
purpose = "Create, then read."
seed = "000"
implementations.aiohttp = ["aiohttp_app.data.views:ItemsView"]
implementations.django = ["django_app.data.views:ItemsView"]

[[behaviour.case]]
name = "create, read"

[[behaviour.case.steps]]
request = {method = "POST", path = "/items", json = {name = "pen {unique}"}}
save = {id = "id"}
expect = {status = 201, headers = {location = "/items/{id}"}, json_patterns = {id = "[0-9]+"}}

[[behaviour.case.steps]]
request = {path = "/items/{id}", headers = {accept = "application/json", x-seen = ["{id}", "b"]}}
expect = {status = 200, json = {id = "{id}", name = "pen {unique}"}}

[[behaviour.case]]
name = "upload"
expect = {status = 201}

[behaviour.case.request]
method = "POST"
path = "/files"

[[behaviour.case.request.multipart]]
name = "file"
filename = "a.txt"
content_type = "text/plain"
text = "hi"

[[behaviour.case.request.multipart]]
name = "file"
filename = "b.bin"
bytes = {random = 8, seed = 1}

[[behaviour.case.request.multipart]]
name = "note"
value = "x"

[[behaviour.case]]
name = "download"
request = {path = "/files/1", text = {repeat = " ", count = 3}}
expect = {status = 200, bytes = "00ff"}
"""


def test_a_case_in_steps_parses_with_its_variables() -> None:
    items = parse(Path("steps.toml"), STEPS).behaviour("items")
    create, upload, download = items.cases
    assert isinstance(create, HttpCase) and len(create.steps) == 2
    assert create.steps[0].save == {"id": "id"}
    assert create.steps[0].request.json == {"name": "pen {unique}"}
    assert create.request is create.steps[0].request  # a one-step reader sees the first step
    assert create.steps[1].expect.json == {"id": "{id}", "name": "pen {unique}"}
    # A list of values is the header repeated, once for each, in order.
    assert header_pairs(create.steps[1].request.headers) == [
        ("accept", "application/json"),
        ("x-seen", "{id}"),
        ("x-seen", "b"),
    ]
    assert create.steps[0].expect.json_patterns == {"id": "[0-9]+"}
    assert isinstance(upload, HttpCase)
    parts = upload.request.multipart
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("file", "a.txt", "text/plain"),
        ("file", "b.bin", None),
        ("note", None, None),
    ]
    assert parts[0].content is not None and parts[0].content.text == "hi"
    assert parts[1].content is not None and len(parts[1].content.as_bytes()) == 8
    assert parts[2].value == "x"
    assert isinstance(download, HttpCase)
    assert download.request.body == b"   "
    assert download.expect.content is not None
    assert download.expect.content.as_bytes() == b"\x00\xff"


def edit(old: str, new: str) -> str:
    assert STEPS.count(old) == 1, old
    return STEPS.replace(old, new)


BROKEN_STEPS = [
    pytest.param(
        edit('save = {id = "id"}\n', ""),
        "steps[0].expect",
        "unknown variable {id}",
        id="never-saved",
    ),
    pytest.param(
        edit('path = "/items", json', 'path = "/items/{id}", json'),
        "steps[0].request",
        "unknown variable {id}",
        id="used-before-saved",
    ),
    pytest.param(
        edit('request = {path = "/items/{id}"', 'request = {path = "/items/{idd}"'),
        "steps[1].request",
        "unknown variable {idd}",
        id="misspelt",
    ),
    pytest.param(
        edit('x-seen = ["{id}", "b"]', 'x-seen = ["{idd}", "b"]'),
        "steps[1].request",
        "unknown variable {idd}",
        id="misspelt-in-a-repeated-header",
    ),
    pytest.param(
        edit('x-seen = ["{id}", "b"]', 'x-seen = ["{id}"]'),
        "steps[1].request.headers[...]",
        "length >= 2",
        id="a-repeated-header-of-one-value",
    ),
    pytest.param(
        edit('save = {id = "id"}', 'save = {unique = "id"}'),
        "steps[0].save.unique",
        "other than ['openapi_document', 'unique']",
        id="save-over-a-built-in",
    ),
    pytest.param(
        edit('json = {name = "pen {unique}"}', 'json = {name = "x"}, text = "{}"'),
        "steps[0].request",
        "at most one body",
        id="two-request-bodies",
    ),
    pytest.param(
        edit('bytes = "00ff"', 'bytes = "00ff", text = "x"'),
        "expect",
        "at most one body expectation",
        id="bytes-and-text",
    ),
    pytest.param(
        edit('value = "x"', 'value = "x"\ntext = "y"'),
        "request.multipart[2]",
        "give one of value, text or bytes",
        id="part-with-two-contents",
    ),
    pytest.param(
        edit('value = "x"', 'value = "x"\nfilename = "n"'),
        "request.multipart[2]",
        "plain field",
        id="field-with-a-filename",
    ),
    pytest.param(
        edit("count = 3", 'count = "3"'),
        "request.text.count",
        "Expected `int`, got `str`",
        id="repeat-count-not-int",
    ),
    pytest.param(
        edit("random = 8", "random = -8"),
        "request.multipart[1].bytes.random",
        "Expected `int` >= 0",
        id="negative-random-size",
    ),
    pytest.param(
        edit('name = "create, read"', 'name = "create, read"\nconcurrency = 2'),
        "concurrency",
        "unknown field",
        id="case-field-beside-steps",
    ),
    pytest.param(
        edit('save = {id = "id"}', 'save = {id = "id"}\ncolour = 1'),
        "steps[0].colour",
        "unknown field",
        id="unknown-step-field",
    ),
]


@pytest.mark.parametrize(("text", "field", "problem"), BROKEN_STEPS)
def test_a_malformed_step_names_its_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    error = spec_error(tmp_path / "spec.toml", text)
    assert error.field == field
    assert problem in error.problem


def test_substitute_keeps_a_lone_variable_s_type_and_formats_the_rest() -> None:
    variables = {"id": 7, "unique": "ab12"}
    assert substitute("{id}", variables) == 7
    assert substitute("/items/{id}", variables) == "/items/7"
    assert substitute({"a": ["{id}", {"b": "x-{unique}"}], "c": 1}, variables) == {
        "a": [7, {"b": "x-ab12"}],
        "c": 1,
    }
    assert substitute('{"json": 1}', variables) == '{"json": 1}'  # not a variable
    assert substitute("{other}", variables) == "{other}"
    assert placeholders({"a": ["{id}", "{unique}-{id}"], "b": 3}) == {"id", "unique"}


# Websocket cases of part 4, realtime: error frames, JSON subsets, refused handshakes, headers.
WS_STEPS = """
[[behaviour]]
id = "chat"
purpose = "Chat."
seed = "001"
implementations.aiohttp = ["aiohttp_app.realtime.websockets:chat"]
implementations.django = ["django_app.realtime.consumers:ChatConsumer"]

[[behaviour.case]]
name = "talks"
websocket = "/ws/chat/a"
headers = {Origin = "https://example.org", x-other = ["1", "2"]}
steps = [
    {expect_json_subset = {type = "message"}},
    {expect_error = "invalid_room"},
    {expect_error = {code = "invalid_field", params = {field = "message", problem = "is bad"}}},
]

[[behaviour.case]]
name = "refused"
websocket = "/ws/chat/A"
headers = {origin = false}
steps = [{expect_refusal = {status = 403, error = "invalid_room"}}]
"""


def test_websocket_steps_of_part_4_parse() -> None:
    talks, refused = parse(Path("ws.toml"), WS_STEPS).behaviour("chat").cases
    assert isinstance(talks, WsCase) and isinstance(refused, WsCase)
    assert talks.headers == {"origin": "https://example.org", "x-other": ("1", "2")}
    assert header_pairs(talks.headers)[1:] == [("x-other", "1"), ("x-other", "2")]
    assert talks.omit_headers == frozenset()
    subset, error, with_params = talks.steps
    assert subset.payload is not None and subset.payload.json == {"type": "message"}
    assert error.error == ErrorRef("invalid_room")
    assert with_params.error == ErrorRef("invalid_field", {"field": "message", "problem": "is bad"})
    assert "invalid_field" in with_params.describe()
    assert refused.headers == {} and refused.omit_headers == frozenset({"origin"})
    (refusal,) = refused.steps
    assert refusal.refusal is not None and refusal.refusal.status == 403
    assert refusal.refusal.error == ErrorRef("invalid_room")
    assert refusal.describe() == "expect_refusal 403 invalid_room"


def ws_edit(old: str, new: str) -> str:
    assert WS_STEPS.count(old) == 1, old
    return WS_STEPS.replace(old, new)


BROKEN_WS = [
    pytest.param(
        ws_edit('{expect_error = "invalid_room"}', '{expect_error = "teapot"}'),
        "steps[1].expect_error",
        "unknown error code 'teapot'",
        id="unknown-error-frame-code",
    ),
    pytest.param(
        ws_edit('{code = "invalid_field", params', '{code = "teapot", params'),
        "steps[2].expect_error.code",
        "unknown error code 'teapot'",
        id="unknown-error-frame-code-in-a-table",
    ),
    pytest.param(
        ws_edit('params = {field = "message"', 'parameters = {field = "message"'),
        "steps[2].expect_error.parameters",
        "unknown field",
        id="error-frame-unknown-key",
    ),
    pytest.param(
        ws_edit(
            'steps = [{expect_refusal = {status = 403, error = "invalid_room"}}]',
            'steps = [{expect_refusal = {status = 403}}, {send_text = "x"}]',
        ),
        "steps[0]",
        "the case's only step",
        id="refusal-with-more-steps",
    ),
    pytest.param(
        ws_edit('{status = 403, error = "invalid_room"}', "{status = 101}"),
        "steps[0].expect_refusal.status",
        "from 400 to 599",
        id="refusal-that-accepts",
    ),
    pytest.param(
        ws_edit("{expect_refusal = {status = 403, ", "{expect_refusal = {status = 400, "),
        "steps[0].expect_refusal.status",
        "is sent with 403",
        id="refusal-status-not-the-error-s",
    ),
    pytest.param(
        ws_edit("headers = {origin = false}", "headers = {origin = true}"),
        "headers.origin",
        "a string, or false",
        id="header-true",
    ),
]


@pytest.mark.parametrize(("text", "field", "problem"), BROKEN_WS)
def test_a_malformed_websocket_step_names_its_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    error = spec_error(tmp_path / "spec.toml", text)
    assert error.field == field
    assert problem in error.problem


# Routes: a behaviour's inputs and answers, declared for generated requests and the OpenAPI
# document.
ROUTES = (
    VALID
    + """
[[behaviour.route]]
name = "item"
method = "GET"
path = "/items/{id}"
summary = "One item"
path_params.id = {schema = {type = "string", pattern = "^[0-9]+$"}, required = true}
query.limit = {schema = {type = "integer", minimum = 1}}
errors = ["not_found"]
answers = [{status = 200, schema = {"$ref" = "#/components/schemas/Item"}}]

[schemas]
Item = {type = "object", required = ["id"]}
"""
)


def test_a_route_parses_with_its_inputs_answers_and_implied_errors(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(ROUTES, encoding="utf-8")
    loaded = load(path)
    route = loaded.route("GET /items/{id}")
    assert route.path_names() == ["id"] and route.query["limit"].schema["minimum"] == 1
    assert route.implied_errors() == ("not_found", "invalid_parameter")
    assert loaded.schemas == {"Item": {"type": "object", "required": ["id"]}}


def route_edit(old: str, new: str) -> str:
    assert old in ROUTES
    return ROUTES.replace(old, new, 1)


BROKEN_ROUTES = [
    pytest.param(
        route_edit('path = "/items/{id}"', 'path = "/items/{item}"'),
        "route[0].path_params",
        "must declare ['item']",
        id="path-parameter-not-the-path-s",
    ),
    pytest.param(
        route_edit('errors = ["not_found"]', 'errors = ["no_such_code"]'),
        "route[0].errors[0]",
        "unknown error code",
        id="unknown-error",
    ),
    pytest.param(
        route_edit('{type = "integer", minimum = 1}', '{type = "integr"}'),
        "route[0].query.limit.schema",
        "not a JSON Schema",
        id="not-a-schema",
    ),
    pytest.param(
        route_edit("schemas/Item", "schemas/Thing"),
        "route[0].answers[0].schema",
        "names none of ['Item']",
        id="unknown-ref",
    ),
    pytest.param(
        route_edit('method = "GET"', 'method = "POST"\nwebsocket = true'),
        "route[0].method",
        "a websocket handshake is a GET",
        id="websocket-not-get",
    ),
    pytest.param(
        route_edit("query.limit", "headers.Last-Event-ID"),
        "route[0].headers.Last-Event-ID",
        "must be lower-case",
        id="header-not-lower-case",
    ),
    pytest.param(
        route_edit("answers = [{status = 200,", "answers = [{status = 200, empty = true,"),
        "route[0].answers[0].schema",
        "an empty answer has none",
        id="empty-answer-with-schema",
    ),
    pytest.param(
        route_edit("answers = [{status = 200,", "answers = [{status = 404,"),
        "route[0].answers[0].status",
        "Expected `int` <= 399",
        id="answer-is-an-error",
    ),
    pytest.param(
        route_edit(
            'method = "GET"', 'method = "DELETE"\ncookies.sessionid = {schema = {type = "string"}}'
        ),
        "route[0].cookies",
        "the CSRF rule applies (a DELETE that reads sessionid): declare cookies.csrftoken",
        id="csrf-inputs-missing",
    ),
]


def test_the_csrf_rule_implies_its_error_where_it_applies(tmp_path: Path) -> None:
    """A route that reads the session cookie and changes state answers csrf_failed too."""
    path = tmp_path / "spec.toml"
    path.write_text(
        route_edit(
            'method = "GET"',
            'method = "DELETE"\ncookies.sessionid = {schema = {type = "string"}}\n'
            'cookies.csrftoken = {schema = {type = "string"}}\n'
            'headers.x-csrftoken = {schema = {type = "string"}}',
        ),
        encoding="utf-8",
    )
    route = load(path).route("DELETE /items/{id}")
    assert route.csrf and route.implied_errors()[-1] == "csrf_failed"
    assert not spec().route("GET /me").csrf and not spec().route("POST /accounts").csrf
    assert spec().route("POST /session").csrf and spec().route("DELETE /session").csrf


@pytest.mark.parametrize(("text", "field", "problem"), BROKEN_ROUTES)
def test_a_malformed_route_names_its_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    error = spec_error(tmp_path / "spec.toml", text)
    assert (error.where, error.field) == ("behaviour 'hello'", field)
    assert problem in error.problem


def test_a_route_declared_twice_fails(tmp_path: Path) -> None:
    route = ROUTES[ROUTES.index("[[behaviour.route]]") : ROUTES.index("[schemas]")]
    error = spec_error(tmp_path / "spec.toml", ROUTES.replace("[schemas]", route + "[schemas]"))
    assert (error.field, error.problem) == ("route[1]", "GET /items/{id} is declared twice")
