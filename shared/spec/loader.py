"""A typed loader for the spec (behaviours/*.toml); errors name file, behaviour, field."""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from shared.runtime.errors import ErrorDef, catalogue

SPEC_DIR = Path(__file__).with_name("behaviours")

APPS = ("aiohttp", "django")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SEND_STEPS = ("send_text", "send_bytes", "send_json")
EXPECT_STEPS = ("expect_text", "expect_bytes", "expect_json", "expect_json_subset")
CLOSE_STEPS = ("close", "expect_close")
ERROR_STEPS = ("expect_error",)  # an error frame: {"type": "error", "error": {code, message}}
REFUSAL_STEPS = ("expect_refusal",)  # the handshake is answered with an HTTP error instead
STEP_KINDS = SEND_STEPS + EXPECT_STEPS + CLOSE_STEPS + ERROR_STEPS + REFUSAL_STEPS

type StepKind = Literal[
    "send_text", "send_bytes", "send_json",
    "expect_text", "expect_bytes", "expect_json", "expect_json_subset",
    "close", "expect_close", "expect_error", "expect_refusal",
]  # fmt: skip


# `{name}` in an HTTP case is replaced by a variable: `unique` (new for each run of a case, so
# that a case finds its own rows in a database it shares) or a value an earlier step saved.
VARIABLE = re.compile(r"[a-z_][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BUILTIN_VARIABLES = frozenset({"unique"})

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


def placeholders(value: object) -> set[str]:
    """The variable names used in a value: its strings, and those of its lists and tables."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(placeholders(item) for item in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(placeholders(item) for item in value))
    return set()


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace `{name}` in every string; a string that is only `{name}` takes the value's type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole[1] in variables:
            return variables[whole[1]]
        return PLACEHOLDER.sub(
            lambda match: str(variables[match[1]]) if match[1] in variables else match[0], value
        )
    if isinstance(value, Mapping):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value


class SpecError(ValueError):
    """A malformed spec: the message names the file, the behaviour and the field."""

    def __init__(self, path: Path, where: str, field: str, problem: str) -> None:
        self.path, self.where, self.field, self.problem = path, where, field, problem
        super().__init__(f"{path}: {where}: field {field!r}: {problem}")


@dataclass(frozen=True)
class Payload:
    """A websocket payload: literal text or bytes, or bytes made from a seed and a size."""

    text: str | None = None
    data: bytes | None = None
    json: Any = None
    size: int = 0
    seed: int = 0

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


@dataclass(frozen=True)
class WsStep:
    kind: StepKind
    payload: Payload | None = None
    code: int | None = None
    error: ErrorRef | None = None
    refusal: HttpExpect | None = None

    def describe(self) -> str:
        if self.refusal is not None:
            error = self.refusal.error
            detail = f"{self.refusal.status}" + (f" {error.code}" if error else "")
        elif self.error is not None:
            params = ", ".join(f"{k}={v!r}" for k, v in self.error.params.items())
            detail = self.error.code + (f" ({params})" if params else "")
        elif self.payload is not None:
            detail = self.payload.describe()
        else:
            detail = str(self.code)
        return f"{self.kind} {detail}"


@dataclass(frozen=True)
class Elapsed:
    """Bounds, in seconds, on the wall time of a case's requests taken together."""

    min: float = 0.0
    max: float | None = None
    on: Mapping[str, Elapsed] = field(default_factory=dict)  # other bounds for some targets


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    json: Any = None  # sent as application/json
    multipart: tuple[FormPart, ...] = ()  # sent as multipart/form-data, in this order


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart/form-data body: a plain field, or a file (content, filename)."""

    name: str
    value: str | None = None
    content: Payload | None = None
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class HttpExpect:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    header_patterns: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None
    json: Any = None
    json_subset: Any = None
    regex: str | None = None
    error: ErrorRef | None = None
    content: Payload | None = None  # `bytes`: the exact body
    json_patterns: Mapping[str, str] = field(default_factory=dict)  # top-level key -> regex


@dataclass(frozen=True)
class ErrorRef:
    code: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpStep:
    """One request of an HTTP case (sent `concurrency` times at once) and what it must get."""

    request: HttpRequest
    expect: HttpExpect
    concurrency: int = 1
    elapsed: Elapsed | None = None
    save: Mapping[str, str] = field(default_factory=dict)  # variable -> top-level key of the JSON


@dataclass(frozen=True)
class HttpCase:
    """One request, or `steps`: requests in order, later ones using values saved from earlier."""

    name: str
    steps: tuple[HttpStep, ...]
    needs: frozenset[Need] = frozenset()  # its own and its behaviour's
    kind: Literal["http"] = "http"

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
            replace(step, elapsed=step.elapsed.on[target])
            if step.elapsed and target in step.elapsed.on
            else step
            for step in self.steps
        )
        return replace(self, steps=steps)


@dataclass(frozen=True)
class WsCase:
    name: str
    path: str
    steps: tuple[WsStep, ...]
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    omit_headers: frozenset[str] = frozenset()  # `false` in `headers`: not even the default
    needs: frozenset[Need] = frozenset()  # websocket, unless only refused; and any declared
    kind: Literal["websocket"] = "websocket"


type Case = HttpCase | WsCase


@dataclass(frozen=True)
class Behaviour:
    id: str
    purpose: str
    seed: str
    implementations: Mapping[str, tuple[str, ...]]
    cases: tuple[Case, ...]
    notes: str = ""
    needs: frozenset[Need] = frozenset()  # what every one of its cases needs
    source: Path = SPEC_DIR  # the file that defines it

    def case_id(self, index: int) -> str:
        """The case's id in test names: `hello-2` is the second case of `hello`."""
        return f"{self.id}-{index + 1}"


@dataclass(frozen=True)
class Spec:
    path: Path
    errors: Mapping[str, ErrorDef]
    behaviours: tuple[Behaviour, ...]

    def behaviour(self, behaviour_id: str) -> Behaviour:
        for behaviour in self.behaviours:
            if behaviour.id == behaviour_id:
                return behaviour
        raise KeyError(behaviour_id)

    def error_body(self, ref: ErrorRef) -> dict[str, dict[str, str]]:
        return self.errors[ref.code].render(**ref.params)


class _Reader:
    """Walks the parsed TOML, raising SpecError with the file, behaviour and field."""

    def __init__(self, path: Path, where: str) -> None:
        self.path, self.where = path, where

    def fail(self, name: str, problem: str) -> SpecError:
        return SpecError(self.path, self.where, name, problem)

    def table(self, data: object, name: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(name, f"must be a table, got {type(data).__name__}")
        return cast(dict[str, Any], data)

    def keys(self, data: Mapping[str, Any], name: str, allowed: set[str]) -> None:
        if unknown := sorted(set(data) - allowed):
            raise self.fail(f"{name}.{unknown[0]}" if name else unknown[0], "unknown field")

    def get[T](self, data: Mapping[str, Any], key: str, kind: type[T], name: str = "") -> T:
        qualified = f"{name}.{key}" if name else key
        if key not in data:
            raise self.fail(qualified, "is required")
        return self.check(data[key], kind, qualified)

    def opt[T](
        self, data: Mapping[str, Any], key: str, kind: type[T], default: T, name: str = ""
    ) -> T:
        if key not in data:
            return default
        return self.check(data[key], kind, f"{name}.{key}" if name else key)

    def check[T](self, value: object, kind: type[T], name: str) -> T:
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return cast(T, float(value))
        if not ok:
            raise self.fail(name, f"must be {kind.__name__}, got {type(value).__name__}")
        return cast(T, value)

    def strings(self, data: Mapping[str, Any], key: str, name: str) -> dict[str, str]:
        table = self.table(data.get(key, {}), f"{name}.{key}")
        for k, v in table.items():
            self.check(v, str, f"{name}.{key}.{k}")
        return table


def _payload(reader: _Reader, kind: StepKind, value: object, name: str) -> Payload:
    if kind.endswith(("_json", "_json_subset")):
        return Payload(json=value)
    if kind.endswith("_text"):
        if isinstance(value, dict):
            reader.keys(value, name, {"repeat", "count"})
            unit = reader.get(value, "repeat", str, name)
            return Payload(text=unit * reader.get(value, "count", int, name))
        return Payload(text=reader.check(value, str, name))
    if isinstance(value, str):
        try:
            return Payload(data=bytes.fromhex(value))
        except ValueError as error:
            raise reader.fail(name, f"must be hex digits: {error}") from None
    table = reader.table(value, name)
    reader.keys(table, name, {"random", "seed"})
    size = reader.get(table, "random", int, name)
    if size < 0:
        raise reader.fail(f"{name}.random", "must be >= 0")
    return Payload(size=size, seed=reader.opt(table, "seed", int, 0, name))


def _error_ref(
    reader: _Reader, value: object, errors: Mapping[str, ErrorDef], name: str
) -> ErrorRef:
    """An error code, or {code, params} for a message with placeholders."""
    table = {"code": value} if isinstance(value, str) else reader.table(value, name)
    reader.keys(table, name, {"code", "params"})
    code = reader.get(table, "code", str, name)
    if code not in errors:
        raise reader.fail(
            name if isinstance(value, str) else f"{name}.code", f"unknown error code {code!r}"
        )
    return ErrorRef(code, reader.strings(table, "params", name))


def _step(reader: _Reader, data: object, errors: Mapping[str, ErrorDef], name: str) -> WsStep:
    table = reader.table(data, name)
    if len(table) != 1 or next(iter(table)) not in STEP_KINDS:
        raise reader.fail(name, f"must be one of {', '.join(STEP_KINDS)} (exactly one)")
    kind, value = next(iter(table.items()))
    if kind in ERROR_STEPS:
        return WsStep(kind=kind, error=_error_ref(reader, value, errors, f"{name}.{kind}"))
    if kind in REFUSAL_STEPS:
        refusal = _expect(reader, value, errors, f"{name}.{kind}")
        if refusal.status < 400:
            raise reader.fail(f"{name}.{kind}.status", "a refusal is a status from 400 to 599")
        return WsStep(kind=kind, refusal=refusal)
    if kind in CLOSE_STEPS:
        code = reader.check(value, int, f"{name}.{kind}")
        if not 1000 <= code <= 4999:
            raise reader.fail(f"{name}.{kind}", "must be a close code from 1000 to 4999")
        return WsStep(kind=kind, code=code)
    return WsStep(kind=kind, payload=_payload(reader, kind, value, f"{name}.{kind}"))


def _expect(reader: _Reader, data: object, errors: Mapping[str, ErrorDef], name: str) -> HttpExpect:
    table = reader.table(data, name)
    body_keys = {"text", "bytes", "json", "json_subset", "regex", "error"}
    other_keys = {"status", "headers", "header_patterns", "error_params", "json_patterns"}
    reader.keys(table, name, other_keys | body_keys)
    if len(given := body_keys & set(table)) > 1:
        raise reader.fail(name, f"give at most one body expectation, got {sorted(given)}")
    status = reader.get(table, "status", int, name)
    if not 100 <= status <= 599:
        raise reader.fail(f"{name}.status", "must be an HTTP status from 100 to 599")
    error: ErrorRef | None = None
    if "error" in table:
        code = reader.get(table, "error", str, name)
        if code not in errors:
            raise reader.fail(f"{name}.error", f"unknown error code {code!r}")
        if errors[code].status != status:
            raise reader.fail(
                f"{name}.status", f"error {code!r} is sent with {errors[code].status}"
            )
        error = ErrorRef(code, reader.strings(table, "error_params", name))
    return HttpExpect(
        status=status,
        headers={k.lower(): v for k, v in reader.strings(table, "headers", name).items()},
        header_patterns={
            k.lower(): v for k, v in reader.strings(table, "header_patterns", name).items()
        },
        text=_payload(reader, "send_text", table["text"], f"{name}.text").text
        if "text" in table
        else None,
        json=table.get("json"),
        json_subset=table.get("json_subset"),
        regex=reader.opt(table, "regex", str, None, name),  # type: ignore[arg-type]
        error=error,
        content=_payload(reader, "send_bytes", table["bytes"], f"{name}.bytes")
        if "bytes" in table
        else None,
        json_patterns=reader.strings(table, "json_patterns", name),
    )


def _form_parts(reader: _Reader, data: object, name: str) -> tuple[FormPart, ...]:
    """`multipart = [{name, value}, {name, filename?, content_type?, text | bytes}, ...]`."""
    parts: list[FormPart] = []
    for index, entry in enumerate(reader.check(data, list, name)):
        where = f"{name}[{index}]"
        part = reader.table(entry, where)
        reader.keys(part, where, {"name", "value", "filename", "content_type", "text", "bytes"})
        field_name = reader.get(part, "name", str, where)
        if len(given := {"value", "text", "bytes"} & set(part)) != 1:
            raise reader.fail(where, f"give one of value, text or bytes, got {sorted(given)}")
        if "value" in part:
            if {"filename", "content_type"} & set(part):
                raise reader.fail(where, "a plain field (value) has no filename or content_type")
            parts.append(FormPart(field_name, value=reader.get(part, "value", str, where)))
            continue
        kind: StepKind = "send_text" if "text" in part else "send_bytes"
        key = "text" if "text" in part else "bytes"
        parts.append(
            FormPart(
                field_name,
                content=_payload(reader, kind, part[key], f"{where}.{key}"),
                filename=reader.opt(part, "filename", str, None, where),  # type: ignore[arg-type]
                content_type=reader.opt(part, "content_type", str, None, where),  # type: ignore[arg-type]
            )
        )
    return tuple(parts)


def _request(reader: _Reader, data: object, name: str) -> HttpRequest:
    table = reader.table(data, name)
    reader.keys(table, name, {"method", "path", "query", "headers", "text", "json", "multipart"})
    if len(given := {"text", "json", "multipart"} & set(table)) > 1:
        raise reader.fail(name, f"give at most one body, got {sorted(given)}")
    method = reader.opt(table, "method", str, "GET", name)
    if method not in HTTP_METHODS:
        raise reader.fail(f"{name}.method", f"must be one of {sorted(HTTP_METHODS)}")
    path = reader.get(table, "path", str, name)
    if not path.startswith("/"):
        raise reader.fail(f"{name}.path", "must start with '/'")
    text = None
    if "text" in table:
        text = _payload(reader, "send_text", table["text"], f"{name}.text").text
    return HttpRequest(
        method=method,
        path=path,
        query=reader.strings(table, "query", name),
        headers=reader.strings(table, "headers", name),
        body=text.encode() if text is not None else None,
        json=table.get("json"),
        multipart=_form_parts(reader, table["multipart"], f"{name}.multipart")
        if "multipart" in table
        else (),
    )


def _needs(reader: _Reader, data: Mapping[str, Any]) -> frozenset[Need]:
    """`needs = ["overlap", ...]`: names from NEEDS."""
    found: set[Need] = set()
    for index, need in enumerate(reader.opt(data, "needs", list, [])):
        if reader.check(need, str, f"needs[{index}]") not in NEEDS:
            raise reader.fail(f"needs[{index}]", f"unknown need {need!r}; known: {list(NEEDS)}")
        found.add(need)
    return frozenset(found)


def _case(
    reader: _Reader,
    data: object,
    errors: Mapping[str, ErrorDef],
    inherited: frozenset[Need] = frozenset(),
) -> Case:
    table = reader.table(data, "case")
    name = reader.get(table, "name", str)
    needs = inherited | _needs(reader, table)
    if "websocket" in table:
        reader.keys(table, "", {"name", "websocket", "headers", "steps", "needs"})
        path = reader.get(table, "websocket", str)
        if not path.startswith("/"):
            raise reader.fail("websocket", "must start with '/'")
        steps = tuple(
            _step(reader, step, errors, f"steps[{i}]")
            for i, step in enumerate(reader.get(table, "steps", list))
        )
        if not steps:
            raise reader.fail("steps", "must not be empty")
        for i, step in enumerate(steps):
            if step.kind in REFUSAL_STEPS and len(steps) > 1:
                raise reader.fail(f"steps[{i}]", "a refused handshake is the case's only step")
        headers: dict[str, str] = {}
        omit: set[str] = set()
        for header, value in reader.table(table.get("headers", {}), "headers").items():
            if value is False:
                omit.add(header.lower())
            elif isinstance(value, str):
                headers[header.lower()] = value
            else:
                raise reader.fail(f"headers.{header}", "must be a string, or false to send none")
        return WsCase(
            name=name,
            path=path,
            steps=steps,
            headers=headers,
            omit_headers=frozenset(omit),
            # A refused handshake is an HTTP answer, which a server without websockets gives too.
            needs=needs if steps[0].kind in REFUSAL_STEPS else needs | {"websocket"},
        )
    if "steps" in table:
        reader.keys(table, "", {"name", "steps", "needs"})
        entries = reader.get(table, "steps", list)
        if not entries:
            raise reader.fail("steps", "must not be empty")
        steps = tuple(
            _http_step(reader, reader.table(entry, f"steps[{i}]"), errors, f"steps[{i}].")
            for i, entry in enumerate(entries)
        )
    else:
        reader.keys(table, "", {"name", "request", "expect", "concurrency", "elapsed", "needs"})
        steps = (_http_step(reader, table, errors, ""),)
    _check_variables(reader, steps, "steps[{}]." if "steps" in table else "")
    return HttpCase(name=name, steps=steps, needs=needs)


def _http_step(
    reader: _Reader, table: Mapping[str, Any], errors: Mapping[str, ErrorDef], prefix: str
) -> HttpStep:
    """A request and its expectation: the case itself, or one of its `steps` (prefix names it)."""
    if prefix:
        reader.keys(table, prefix[:-1], {"request", "expect", "concurrency", "elapsed", "save"})
    elapsed: Elapsed | None = None
    if "elapsed" in table:
        elapsed = _elapsed(reader, table["elapsed"], f"{prefix}elapsed")
    concurrency = reader.opt(table, "concurrency", int, 1, prefix[:-1])
    if not 1 <= concurrency <= 1000:
        raise reader.fail(f"{prefix}concurrency", "must be from 1 to 1000")
    save = reader.strings(table, "save", prefix[:-1])
    for variable in save:
        if not VARIABLE.fullmatch(variable) or variable in BUILTIN_VARIABLES:
            raise reader.fail(
                f"{prefix}save.{variable}", "must be a lower-case name other than 'unique'"
            )
    return HttpStep(
        request=_request(reader, reader.get(table, "request", dict), f"{prefix}request"),
        expect=_expect(reader, reader.get(table, "expect", dict), errors, f"{prefix}expect"),
        concurrency=concurrency,
        elapsed=elapsed,
        save=save,
    )


def _elapsed(reader: _Reader, data: object, where: str, nested: bool = False) -> Elapsed:
    """`{min, max}`, and `on = {target = {min, max}}`: other bounds where a target differs (two
    worker processes share five blocking requests between two event loops)."""
    bounds = reader.table(data, where)
    reader.keys(bounds, where, {"min", "max"} if nested else {"min", "max", "on"})
    on = reader.opt(bounds, "on", dict, {}, where)
    return Elapsed(
        min=reader.opt(bounds, "min", float, 0.0, where),
        max=reader.opt(bounds, "max", float, None, where),  # type: ignore[arg-type]
        on={
            target: _elapsed(reader, value, f"{where}.on.{target}", nested=True)
            for target, value in on.items()
        },
    )


def _check_variables(reader: _Reader, steps: Sequence[HttpStep], prefix: str) -> None:
    """Every `{name}` is a built-in or saved by an earlier step (or, in expect, by this one)."""
    known = set(BUILTIN_VARIABLES)
    for index, step in enumerate(steps):
        request = step.request
        expect = step.expect
        uses = {
            "request": [request.path, dict(request.query), dict(request.headers), request.json]
            + [[part.value, part.filename] for part in request.multipart],
        }
        for where, values in uses.items():
            for variable in placeholders(values):
                if variable not in known:
                    raise reader.fail(
                        f"{prefix.format(index)}{where}",
                        f"unknown variable {{{variable}}}; known here: {sorted(known)}",
                    )
        known |= set(step.save)
        expected = [
            dict(expect.headers),
            expect.json,
            expect.json_subset,
            expect.text,
            dict(expect.error.params) if expect.error else None,
        ]
        for variable in placeholders(expected):
            if variable not in known:
                raise reader.fail(
                    f"{prefix.format(index)}expect",
                    f"unknown variable {{{variable}}}; known here: {sorted(known)}",
                )


def _implementations(reader: _Reader, data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    table = reader.get(data, "implementations", dict)
    reader.keys(table, "implementations", set(APPS))
    found: dict[str, tuple[str, ...]] = {}
    for app in APPS:
        refs = reader.get(table, app, list, "implementations")
        if not refs:
            raise reader.fail(f"implementations.{app}", "must name at least one module:qualname")
        for i, ref in enumerate(refs):
            module, _, qualname = reader.check(ref, str, f"implementations.{app}[{i}]").partition(
                ":"
            )
            if not qualname or module.partition(".")[0] not in (f"{app}_app", "shared"):
                raise reader.fail(
                    f"implementations.{app}[{i}]",
                    f"must be '{app}_app.<module>:<qualname>' or 'shared.<module>:<qualname>'",
                )
        found[app] = tuple(refs)
    return found


def _errors(path: Path, data: Mapping[str, Any]) -> dict[str, ErrorDef]:
    reader = _Reader(path, "errors")
    errors: dict[str, ErrorDef] = {}
    for code, entry in reader.table(data.get("errors", {}), "errors").items():
        table = reader.table(entry, code)
        reader.keys(table, code, {"status", "message"})
        status = reader.get(table, "status", int, code)
        if not 400 <= status <= 599:
            raise reader.fail(f"{code}.status", "an error status is from 400 to 599")
        errors[code] = ErrorDef(status, reader.get(table, "message", str, code), code)
    return errors


def _behaviour(
    path: Path,
    index: int,
    entry: object,
    errors: Mapping[str, ErrorDef],
    earlier: Sequence[Behaviour],
) -> Behaviour:
    table = _Reader(path, "file").table(entry, f"behaviour[{index}]")
    named = table.get("id")
    reader = _Reader(path, f"behaviour {named!r}" if named else f"behaviour[{index}]")
    reader.keys(table, "", {"id", "purpose", "seed", "implementations", "notes", "case", "needs"})
    behaviour_id = reader.get(table, "id", str)
    if any(b.id == behaviour_id for b in earlier):
        raise reader.fail("id", "is used by an earlier behaviour")
    purpose = reader.get(table, "purpose", str)
    if not purpose or "\n" in purpose:
        raise reader.fail("purpose", "must be one line")
    needs = _needs(reader, table)
    cases: list[Case] = []
    for case_index, case in enumerate(reader.get(table, "case", list)):
        case_reader = _Reader(path, f"{reader.where}, case {case_index + 1}")
        cases.append(_case(case_reader, case, errors, needs))
    if not cases:
        raise reader.fail("case", "a behaviour needs at least one case")
    return Behaviour(
        id=behaviour_id,
        purpose=purpose,
        seed=reader.get(table, "seed", str),
        implementations=_implementations(reader, table),
        cases=tuple(cases),
        notes=reader.opt(table, "notes", str, ""),
        source=path,
        needs=needs,
    )


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(path, "file", "(toml)", str(error)) from None
    _Reader(path, "file").keys(data, "", {"errors", "behaviour"})
    return data


def parse_files(files: Sequence[tuple[Path, str]]) -> Spec:
    """Parse spec files given as (path, text): the error catalogue first, then the behaviours."""
    documents = [(path, _toml(path, text)) for path, text in files]
    errors: dict[str, ErrorDef] = {}
    if not any("errors" in data for _, data in documents):
        errors.update(catalogue())
    for path, data in documents:
        for code, entry in _errors(path, data).items():
            if code in errors:
                raise SpecError(path, "errors", code, "is defined in an earlier file too")
            errors[code] = entry
    behaviours: list[Behaviour] = []
    for path, data in documents:
        entries = _Reader(path, "file").opt(data, "behaviour", list, [])
        for index, entry in enumerate(entries):
            behaviours.append(_behaviour(path, index, entry, errors, behaviours))
    if not behaviours:
        raise SpecError(files[0][0] if files else SPEC_DIR, "file", "behaviour", "none defined")
    return Spec(
        path=files[0][0].parent if len(files) > 1 else files[0][0],
        errors=errors,
        behaviours=tuple(behaviours),
    )


def parse(path: Path, text: str) -> Spec:
    """Parse one spec file's text."""
    return parse_files([(path, text)])


def spec_files(path: Path = SPEC_DIR) -> list[Path]:
    """A spec is a directory of TOML files, read in name order, or one file."""
    return sorted(path.glob("*.toml")) if path.is_dir() else [path]


def load(path: Path = SPEC_DIR) -> Spec:
    """Load and check a spec (by default the project's own, shared/spec/behaviours/*.toml)."""
    return parse_files([(f, f.read_text(encoding="utf-8")) for f in spec_files(path)])


@cache
def spec() -> Spec:
    """The project's spec, loaded once."""
    return load()
