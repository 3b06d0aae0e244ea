"""The spec's model: frozen msgspec Structs, decoded from behaviours/*.toml by the loader."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct, field

from shared.runtime.errors import ErrorDef

SPEC_DIR = Path(__file__).with_name("behaviours")

type App = Literal["aiohttp", "django"]
APPS: tuple[App, ...] = ("aiohttp", "django")
type Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
type StepKind = Literal[
    "send_text", "send_bytes", "send_json",
    "expect_text", "expect_bytes", "expect_json", "expect_json_subset",
    "close", "expect_close", "expect_error", "expect_refusal",
]  # fmt: skip
SEND_STEPS: tuple[StepKind, ...] = ("send_text", "send_bytes", "send_json")
STEP_KINDS: tuple[StepKind, ...] = (
    *SEND_STEPS, "expect_text", "expect_bytes", "expect_json", "expect_json_subset",
    "close", "expect_close", "expect_error", "expect_refusal",
)  # fmt: skip

# What a test may need of its target beyond requests answered one by one. A target that lacks
# one declares it in shared/harness/expected.toml (`what = { lacks = "need" }`), and every case
# or test that needs it is a strict xfail there, with that reason.
type Need = Literal["websocket", "overlap", "streaming", "process-loop"]
NEEDS: Mapping[Need, str] = {
    "websocket": "websocket connections (every websocket case but a refused handshake)",
    "overlap": "requests in flight at once in one process, their awaits overlapping",
    "streaming": "a response body sent while it is produced, and a client that left noticed",
    "process-loop": "one event loop per process that outlives a request",
}

type Status = Annotated[int, Meta(ge=100, le=599)]
type UrlPath = Annotated[str, Meta(pattern="^/")]
type CloseCode = Annotated[int, Meta(ge=1000, le=4999)]
type Hex = Annotated[str, Meta(pattern=r"^\s*(?:[0-9a-fA-F]{2}\s*)*$")]  # bytes.fromhex's form
# A header's value, or its values in order: the header sent once for each (a repeated header).
type HeaderValue = str | Annotated[tuple[str, ...], Meta(min_length=2)]


def header_pairs(headers: Mapping[str, HeaderValue]) -> list[tuple[str, str]]:
    """(name, value) pairs in order, a repeated header once for each of its values."""
    return [
        (name, value)
        for name, values in headers.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]


class Repeat(Struct, frozen=True, forbid_unknown_fields=True):
    """`{repeat, count}`: a text of `count` times `repeat`."""

    repeat: str
    count: Annotated[int, Meta(ge=0)]


class RandomBytes(Struct, frozen=True, forbid_unknown_fields=True):
    """`{random = size, seed = n}`: `size` bytes from a generator seeded with `n`."""

    random: Annotated[int, Meta(ge=0)]
    seed: int = 0


type BytesForm = Hex | RandomBytes  # bytes as hex, or {random, seed}


class Text(str):
    """A text: a string or {repeat, count}; a str, so a custom type that decode_hook makes."""


class Body(bytes):
    """A request's text body, UTF-8 encoded: a string or {repeat, count}, as Text."""


def decode_hook(kind: type, value: object) -> object:
    """msgspec's dec_hook: Text and Body from a string or {repeat, count}."""
    if kind not in (Text, Body):
        raise NotImplementedError(f"no decoder for {kind.__name__}")
    if isinstance(value, dict):
        try:
            repeat = msgspec.convert(value, Repeat)
        except msgspec.ValidationError as error:  # as a ValueError, msgspec adds the path to it
            raise ValueError(str(error)) from None
        value = repeat.repeat * repeat.count
    elif not isinstance(value, str):
        raise ValueError(f"Expected `str` or `{{repeat, count}}`, got `{type(value).__name__}`")
    return Text(value) if kind is Text else Body(value.encode())


class Payload(Struct, frozen=True):
    """A websocket payload or a body: literal text or bytes, JSON, or bytes from a seed and size."""

    text: str | None = None
    data: bytes | None = None
    json: Any = None
    size: int = 0
    seed: int = 0

    @classmethod
    def of_bytes(cls, form: BytesForm) -> Payload:
        if isinstance(form, RandomBytes):
            return cls(size=form.random, seed=form.seed)
        return cls(data=bytes.fromhex(form))

    def as_text(self) -> str:
        assert self.text is not None
        return self.text

    def as_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        return random.Random(self.seed).randbytes(self.size)

    def describe(self) -> str:
        if self.text is not None:
            return repr(self.text) if len(self.text) <= 40 else f"<text of {len(self.text)} chars>"
        if self.data is not None:
            return f"<{len(self.data)} bytes>"
        if self.size:
            return f"<{self.size} random bytes, seed {self.seed}>"
        return repr(self.json)


class ErrorRef(Struct, frozen=True, forbid_unknown_fields=True):
    """A catalogue entry a case expects: its code, and the params of its message."""

    code: str
    params: Mapping[str, str] = {}


def _lower(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {name.lower(): value for name, value in headers.items()}


class HttpExpect(Struct, frozen=True, forbid_unknown_fields=True):
    """What a response must be: its status, headers, and at most one expectation of its body."""

    status: Status
    headers: Mapping[str, str] = {}  # exact; names lower-cased
    header_patterns: Mapping[str, str] = {}  # regexes; names lower-cased
    text: Text | None = None
    json: Any = None
    json_subset: Any = None
    regex: str | None = None
    error_code: str | None = field(default=None, name="error")  # `.error` with error_params
    error_params: Mapping[str, str] = {}
    binary: BytesForm | None = field(default=None, name="bytes")  # `.content`: the exact body
    json_patterns: Mapping[str, str] = {}  # top-level key -> regex

    def __post_init__(self) -> None:
        bodies = {
            "text": self.text, "bytes": self.binary, "json": self.json,
            "json_subset": self.json_subset, "regex": self.regex, "error": self.error_code,
        }  # fmt: skip
        if len(given := [name for name, value in bodies.items() if value is not None]) > 1:
            raise ValueError(f"give at most one body expectation, got {sorted(given)}")
        msgspec.structs.force_setattr(self, "headers", _lower(self.headers))
        msgspec.structs.force_setattr(self, "header_patterns", _lower(self.header_patterns))

    @property
    def error(self) -> ErrorRef | None:
        if self.error_code is None:
            return None
        return ErrorRef(self.error_code, self.error_params)

    @property
    def content(self) -> Payload | None:
        return Payload.of_bytes(self.binary) if self.binary is not None else None


class FormPart(Struct, frozen=True, forbid_unknown_fields=True):
    """One part of a multipart/form-data body: a plain field, or a file (content, filename)."""

    name: str
    value: str | None = None
    text: Text | None = None
    binary: BytesForm | None = field(default=None, name="bytes")
    filename: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        given = [k for k, v in (("value", self.value), ("text", self.text), ("bytes", self.binary))
                 if v is not None]  # fmt: skip
        if len(given) != 1:
            raise ValueError(f"give one of value, text or bytes, got {sorted(given)}")
        if self.value is not None and (self.filename, self.content_type) != (None, None):
            raise ValueError("a plain field (value) has no filename or content_type")

    @property
    def content(self) -> Payload | None:
        """A file's content (`text` or `bytes`); None for a plain field."""
        if self.text is not None:
            return Payload(text=self.text)
        return Payload.of_bytes(self.binary) if self.binary is not None else None


class HttpRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """A request: method, path, query, headers, and at most one body."""

    path: UrlPath
    method: Method = "GET"
    query: Mapping[str, Text] = {}  # a value may be {repeat, count} too
    headers: Mapping[str, HeaderValue] = {}
    body: Body | None = field(default=None, name="text")
    json: Any = None  # sent as application/json
    multipart: tuple[FormPart, ...] = ()  # sent as multipart/form-data, in this order

    def __post_init__(self) -> None:
        bodies = (("text", self.body), ("json", self.json), ("multipart", self.multipart or None))
        if len(given := [name for name, value in bodies if value is not None]) > 1:
            raise ValueError(f"give at most one body, got {sorted(given)}")


class Elapsed(Struct, frozen=True, forbid_unknown_fields=True):
    """Bounds, in seconds, on the wall time of a case's requests taken together."""

    min: float = 0.0
    max: float | None = None
    on: Mapping[str, Elapsed] = {}  # other bounds for some targets

    def __post_init__(self) -> None:
        if any(bounds.on for bounds in self.on.values()):
            raise ValueError("the bounds of `on` have no `on` of their own")


class HttpStep(Struct, frozen=True, forbid_unknown_fields=True):
    """One request of an HTTP case (sent `concurrency` times at once) and what it must get."""

    request: HttpRequest
    expect: HttpExpect
    concurrency: Annotated[int, Meta(ge=1, le=1000)] = 1
    elapsed: Elapsed | None = None
    save: Mapping[str, str] = {}  # variable -> top-level key of the JSON


class WsStep(Struct, frozen=True, forbid_unknown_fields=True):
    """One step of a websocket case: a table with one key, the step's kind."""

    send_text: Text | None = None
    send_bytes: BytesForm | None = None
    send_json: Any = None
    expect_text: Text | None = None
    expect_bytes: BytesForm | None = None
    expect_json: Any = None
    expect_json_subset: Any = None  # the next frame is JSON holding at least these keys
    close: CloseCode | None = None
    expect_close: CloseCode | None = None
    expect_error: str | ErrorRef | None = None  # the error frame of that catalogue entry
    expect_refusal: HttpExpect | None = None  # the handshake is answered with this HTTP error

    def __post_init__(self) -> None:
        if sum(getattr(self, kind) is not None for kind in STEP_KINDS) != 1:
            raise ValueError(f"must be one of {', '.join(STEP_KINDS)} (exactly one)")

    @property
    def kind(self) -> StepKind:
        return next(kind for kind in STEP_KINDS if getattr(self, kind) is not None)

    @property
    def payload(self) -> Payload | None:
        for text in (self.send_text, self.expect_text):
            if text is not None:
                return Payload(text=text)
        for binary in (self.send_bytes, self.expect_bytes):
            if binary is not None:
                return Payload.of_bytes(binary)
        for json in (self.send_json, self.expect_json, self.expect_json_subset):
            if json is not None:
                return Payload(json=json)
        return None

    @property
    def code(self) -> int | None:
        return self.close if self.close is not None else self.expect_close

    @property
    def error(self) -> ErrorRef | None:
        error = self.expect_error
        return ErrorRef(error) if isinstance(error, str) else error

    @property
    def refusal(self) -> HttpExpect | None:
        return self.expect_refusal

    def describe(self) -> str:
        if self.refusal is not None:
            error = self.refusal.error
            detail = f"{self.refusal.status}" + (f" {error.code}" if error else "")
        elif self.error is not None:
            params = ", ".join(f"{k}={v!r}" for k, v in self.error.params.items())
            detail = self.error.code + (f" ({params})" if params else "")
        elif (payload := self.payload) is not None:
            detail = payload.describe()
        else:
            detail = str(self.code)
        return f"{self.kind} {detail}"


# A case is tagged `kind` by the loader (a websocket case is one with `websocket`): msgspec tells
# Structs in a union apart only by a tag.
class HttpCase(Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="http"):
    """One request, or `steps`: requests in order, later ones using values saved from earlier."""

    kind: ClassVar[Literal["http"]] = "http"
    name: str
    steps: Annotated[tuple[HttpStep, ...], Meta(min_length=1)]
    needs: frozenset[Need] = frozenset()  # its own and its behaviour's

    # The first step, for readers of one-request cases.
    @property
    def request(self) -> HttpRequest:
        return self.steps[0].request

    @property
    def expect(self) -> HttpExpect:
        return self.steps[0].expect

    @property
    def concurrency(self) -> int:
        return self.steps[0].concurrency

    @property
    def elapsed(self) -> Elapsed | None:
        return self.steps[0].elapsed

    def on(self, target: str) -> HttpCase:
        """The case as it runs on `target`: its steps with that target's `elapsed.on` bounds."""
        steps = tuple(
            msgspec.structs.replace(step, elapsed=step.elapsed.on[target])
            if step.elapsed and target in step.elapsed.on
            else step
            for step in self.steps
        )
        return msgspec.structs.replace(self, steps=steps)


class WsCase(Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="websocket"):
    """A websocket connection to `path` and its steps in order."""

    kind: ClassVar[Literal["websocket"]] = "websocket"
    name: str
    path: UrlPath = field(name="websocket")
    steps: Annotated[tuple[WsStep, ...], Meta(min_length=1)]
    # The handshake's headers; `false` leaves one out, the client's default Origin too.
    sent_headers: Mapping[str, HeaderValue | bool] = field(default={}, name="headers")
    needs: frozenset[Need] = frozenset()  # websocket, unless only refused; and any declared

    @property
    def headers(self) -> Mapping[str, HeaderValue]:
        """The handshake's headers, lower-case names."""
        return {k.lower(): v for k, v in self.sent_headers.items() if not isinstance(v, bool)}

    @property
    def omit_headers(self) -> frozenset[str]:
        """`false` in `headers`: not even the default."""
        return frozenset(k.lower() for k, v in self.sent_headers.items() if v is False)


type Case = HttpCase | WsCase

# A route's inputs and answers, declared so that requests can be generated from them and an
# OpenAPI document rendered (shared/spec/openapi.py). Schemas are JSON Schema 2020-12 (what
# OpenAPI 3.1 uses), checked when the spec loads; `{"$ref": "#/components/schemas/Item"}` names
# one of a file's `[schemas]`.
type JsonSchema = Mapping[str, Any]
type RouteMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
PATH_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The CSRF rule, written once (both apps apply it, and Route.csrf says where): a request that
# changes state (any method but GET) on a route that reads the session cookie must carry the
# X-CSRFToken header, matching the csrftoken cookie; else 403 csrf_failed. Such a route declares
# the three inputs, so that generated requests send them.
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"


class Param(Struct, frozen=True, forbid_unknown_fields=True):
    """A path or query parameter, or a header the route reads: its value's schema (of the text
    sent, or of the number or boolean it is read as), and whether it must be given."""

    schema: JsonSchema
    required: bool = False
    description: str = ""
    # A number of seconds the route waits for, or of rounds of work it does (an integer):
    # generated requests keep it short.
    waits: bool = False


class RequestBody(Struct, frozen=True, forbid_unknown_fields=True):
    """A request body: its media type, its schema (a JSON value, or a multipart form's fields),
    its size limit in bytes; sent as it is (no Content-Encoding: both apps refuse one)."""

    media_type: Literal["application/json", "multipart/form-data"]
    schema: JsonSchema
    max_bytes: Annotated[int, Meta(ge=1)]
    required: bool = True


class Answer(Struct, frozen=True, forbid_unknown_fields=True):
    """A successful answer: its status, its media type (none for an empty body) and schema."""

    status: Annotated[int, Meta(ge=100, le=399)]
    media_type: str = JSON_MEDIA_TYPE
    empty: bool = False  # no body (a 204 or a redirect)
    schema: JsonSchema = {}
    headers: Mapping[str, str] = {}  # name -> description
    stream: bool = False  # sent while it is produced (SSE, a chunked stream)
    description: str = ""


class Route(Struct, frozen=True, forbid_unknown_fields=True):
    """One method on one path of both apps: `name` is its route's name in aiohttp's router and
    Django's URLconf; path parameters are written `{name}`, as OpenAPI writes them."""

    name: str
    method: RouteMethod
    path: UrlPath
    summary: Annotated[str, Meta(pattern=r"^[^\n]+$")]
    answers: tuple[Answer, ...] = ()  # none for a route that only fails (/errors/boom)
    path_params: Mapping[str, Param] = {}
    query: Mapping[str, Param] = {}
    headers: Mapping[str, Param] = {}  # names lower-cased by the loader's check
    cookies: Mapping[str, Param] = {}  # the cookies it reads, by name (sessionid, csrftoken)
    body: RequestBody | None = None
    errors: tuple[str, ...] = ()  # catalogue codes the route answers on its own
    websocket: bool = False  # a GET that upgrades (101); plain HTTP is 426 websocket_required

    @property
    def key(self) -> str:
        """`GET /items/{id}`: the route as OpenAPI and a reader name it."""
        return f"{self.method} {self.path}"

    def __repr__(self) -> str:
        # Its key, not every schema: hypothesis writes the routes it samples into its reports,
        # and a report over 30 kB is a warning, which the suite treats as an error.
        return f"Route({self.key})"

    @property
    def csrf(self) -> bool:
        """Whether the CSRF rule (above) applies: a state-changing method, the session cookie."""
        return self.method != "GET" and SESSION_COOKIE in self.cookies

    def path_names(self) -> list[str]:
        return PATH_PARAMETER.findall(self.path)

    def implied_errors(self) -> tuple[str, ...]:
        """Its errors and those every route of that shape answers: a bad query parameter, a
        body refused for its type, encoding, size, syntax or slowness, a handshake that is not
        one, a failed CSRF check."""
        implied: list[str] = []
        if self.query:
            implied += ["invalid_parameter"]
            if any(param.required for param in self.query.values()):
                implied += ["missing_parameter"]
        if self.body is not None:
            implied += ["unsupported_media_type", "unsupported_content_encoding"]
            implied += ["payload_too_large", "request_timeout"]
            if self.body.media_type == JSON_MEDIA_TYPE:
                implied += ["invalid_json", "not_an_object"]
            else:
                implied += ["invalid_multipart"]
            implied += ["invalid_field"]
        if self.websocket:
            implied += ["websocket_required"]
        if self.csrf:
            implied += ["csrf_failed"]
        return tuple(dict.fromkeys([*self.errors, *implied]))


class EveryRoute(Struct, frozen=True, forbid_unknown_fields=True):
    """What every route of a behaviour's app answers with (a middleware's headers)."""

    headers: Mapping[str, str] = {}  # name -> description


# The stages a handler goes through, in the order a reader meets them; the reader aligns the two
# implementations stage by stage (compare/stages.py).
type StageKind = Literal["route", "input", "validation", "work", "answer", "errors"]
STAGE_KINDS: tuple[StageKind, ...] = ("route", "input", "validation", "work", "answer", "errors")


class Stage(Struct, frozen=True, forbid_unknown_fields=True):
    """One stage of a behaviour's implementations: in each app, the text of the line it starts on
    (found in that app's `implementations`), and what differs there.

    A stage runs from its line to the line before the next stage's in the same source, or to the
    source's end; the first stage of a source starts on the source's first line. An app with no
    line for a stage does nothing of its own there (its framework does it, or nothing does)."""

    kind: StageKind
    title: Annotated[str, Meta(pattern=r"^[^\n]+$")]  # what happens, in a line
    aiohttp: str | None = None
    django: str | None = None
    note: str = ""  # what differs between the two, and why

    def anchor(self, app: App) -> str | None:
        return self.aiohttp if app == "aiohttp" else self.django


class Behaviour(Struct, frozen=True, forbid_unknown_fields=True):
    """One behaviour: what it is for, where each app implements it, and its cases."""

    id: str
    purpose: Annotated[str, Meta(pattern=r"^[^\n]+$")]  # one line
    seed: str
    implementations: Mapping[str, tuple[str, ...]]  # app -> module:qualname references
    cases: Annotated[tuple[Case, ...], Meta(min_length=1)] = field(name="case")
    notes: str = ""
    needs: frozenset[Need] = frozenset()  # what every one of its cases needs
    routes: tuple[Route, ...] = field(default=(), name="route")
    every_route: EveryRoute | None = None
    stages: tuple[Stage, ...] = field(default=(), name="stage")
    source: Path = SPEC_DIR  # the file that defines it (set by the loader, not in TOML)

    def case_id(self, index: int) -> str:
        """The case's id in test names: `hello-2` is the second case of `hello`."""
        return f"{self.id}-{index + 1}"


class SpecFile(Struct, frozen=True, forbid_unknown_fields=True):
    """One file of the spec: its behaviours, and the schemas their routes name."""

    behaviour: tuple[Behaviour, ...] = ()
    schemas: Mapping[str, JsonSchema] = {}


class Spec(Struct, frozen=True):
    """The whole spec: its behaviours, and the error catalogue their cases name."""

    path: Path
    errors: Mapping[str, ErrorDef]
    behaviours: tuple[Behaviour, ...]
    schemas: Mapping[str, JsonSchema] = {}  # every file's, by name

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every route, in the order the behaviours declare them."""
        return tuple(route for behaviour in self.behaviours for route in behaviour.routes)

    def route(self, key: str) -> Route:
        """A route by its key, `GET /items/{id}`."""
        for route in self.routes:
            if route.key == key:
                return route
        raise KeyError(key)

    @property
    def every_route(self) -> EveryRoute:
        """What every route answers with, from the behaviours that say it."""
        headers = {
            name: text
            for behaviour in self.behaviours
            if behaviour.every_route is not None
            for name, text in behaviour.every_route.headers.items()
        }
        return EveryRoute(headers=headers)

    def behaviour(self, behaviour_id: str) -> Behaviour:
        for behaviour in self.behaviours:
            if behaviour.id == behaviour_id:
                return behaviour
        raise KeyError(behaviour_id)

    def error_body(self, ref: ErrorRef) -> dict[str, dict[str, str]]:
        return self.errors[ref.code].render(**ref.params)
