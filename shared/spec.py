"""A typed loader for the spec (shared/behaviours/*.toml); errors name file, behaviour, field."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

SPEC_DIR = Path(__file__).with_name("behaviours")

APPS = ("aiohttp", "django")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SEND_STEPS = ("send_text", "send_bytes", "send_json")
EXPECT_STEPS = ("expect_text", "expect_bytes", "expect_json")
CLOSE_STEPS = ("close", "expect_close")
STEP_KINDS = SEND_STEPS + EXPECT_STEPS + CLOSE_STEPS

type StepKind = Literal[
    "send_text", "send_bytes", "send_json",
    "expect_text", "expect_bytes", "expect_json",
    "close", "expect_close",
]  # fmt: skip


class SpecError(ValueError):
    """A malformed spec: the message names the file, the behaviour and the field."""

    def __init__(self, path: Path, where: str, field: str, problem: str) -> None:
        self.path, self.where, self.field, self.problem = path, where, field, problem
        super().__init__(f"{path}: {where}: field {field!r}: {problem}")


@dataclass(frozen=True)
class ErrorDef:
    """One entry of the shared error catalogue."""

    code: str
    status: int
    message: str

    def render(self, **params: object) -> dict[str, dict[str, str]]:
        """The JSON error body both apps send: {"error": {"code", "message"}}."""
        return {"error": {"code": self.code, "message": self.message.format(**params)}}


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

    def describe(self) -> str:
        detail = self.payload.describe() if self.payload is not None else str(self.code)
        return f"{self.kind} {detail}"


@dataclass(frozen=True)
class Elapsed:
    """Bounds, in seconds, on the wall time of a case's requests taken together."""

    min: float = 0.0
    max: float | None = None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


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


@dataclass(frozen=True)
class ErrorRef:
    code: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpCase:
    name: str
    request: HttpRequest
    expect: HttpExpect
    concurrency: int = 1
    elapsed: Elapsed | None = None
    xfail: Mapping[str, str] = field(default_factory=dict)
    kind: Literal["http"] = "http"


@dataclass(frozen=True)
class WsCase:
    name: str
    path: str
    steps: tuple[WsStep, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    xfail: Mapping[str, str] = field(default_factory=dict)
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
    if kind.endswith("_json"):
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


def _step(reader: _Reader, data: object, name: str) -> WsStep:
    table = reader.table(data, name)
    if len(table) != 1 or next(iter(table)) not in STEP_KINDS:
        raise reader.fail(name, f"must be one of {', '.join(STEP_KINDS)} (exactly one)")
    kind, value = next(iter(table.items()))
    if kind in CLOSE_STEPS:
        code = reader.check(value, int, f"{name}.{kind}")
        if not 1000 <= code <= 4999:
            raise reader.fail(f"{name}.{kind}", "must be a close code from 1000 to 4999")
        return WsStep(kind=kind, code=code)
    return WsStep(kind=kind, payload=_payload(reader, kind, value, f"{name}.{kind}"))


def _expect(reader: _Reader, data: object, errors: Mapping[str, ErrorDef], name: str) -> HttpExpect:
    table = reader.table(data, name)
    body_keys = {"text", "json", "json_subset", "regex", "error"}
    reader.keys(table, name, {"status", "headers", "header_patterns", "error_params"} | body_keys)
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
        text=reader.opt(table, "text", str, None, name),  # type: ignore[arg-type]
        json=table.get("json"),
        json_subset=table.get("json_subset"),
        regex=reader.opt(table, "regex", str, None, name),  # type: ignore[arg-type]
        error=error,
    )


def _request(reader: _Reader, data: object, name: str) -> HttpRequest:
    table = reader.table(data, name)
    reader.keys(table, name, {"method", "path", "query", "headers", "text"})
    method = reader.opt(table, "method", str, "GET", name)
    if method not in HTTP_METHODS:
        raise reader.fail(f"{name}.method", f"must be one of {sorted(HTTP_METHODS)}")
    path = reader.get(table, "path", str, name)
    if not path.startswith("/"):
        raise reader.fail(f"{name}.path", "must start with '/'")
    text = reader.opt(table, "text", str, None, name)  # type: ignore[arg-type]
    return HttpRequest(
        method=method,
        path=path,
        query=reader.strings(table, "query", name),
        headers=reader.strings(table, "headers", name),
        body=text.encode() if text is not None else None,
    )


def _xfail(reader: _Reader, data: Mapping[str, Any], targets: frozenset[str]) -> dict[str, str]:
    xfail = reader.strings(data, "xfail", "case")
    for target, reason in xfail.items():
        if target not in targets:
            raise reader.fail(f"xfail.{target}", f"unknown target; known: {sorted(targets)}")
        if len(reason.strip()) < 10:
            raise reader.fail(f"xfail.{target}", "needs a reason that says why")
    return xfail


def _case(
    reader: _Reader, data: object, errors: Mapping[str, ErrorDef], targets: frozenset[str]
) -> Case:
    table = reader.table(data, "case")
    name = reader.get(table, "name", str)
    if "websocket" in table:
        reader.keys(table, "", {"name", "websocket", "headers", "steps", "xfail"})
        path = reader.get(table, "websocket", str)
        if not path.startswith("/"):
            raise reader.fail("websocket", "must start with '/'")
        steps = reader.get(table, "steps", list)
        if not steps:
            raise reader.fail("steps", "must not be empty")
        return WsCase(
            name=name,
            path=path,
            steps=tuple(_step(reader, step, f"steps[{i}]") for i, step in enumerate(steps)),
            headers=reader.strings(table, "headers", ""),
            xfail=_xfail(reader, table, targets),
        )
    reader.keys(table, "", {"name", "request", "expect", "concurrency", "elapsed", "xfail"})
    elapsed: Elapsed | None = None
    if "elapsed" in table:
        bounds = reader.table(table["elapsed"], "elapsed")
        reader.keys(bounds, "elapsed", {"min", "max"})
        elapsed = Elapsed(
            min=reader.opt(bounds, "min", float, 0.0, "elapsed"),
            max=reader.opt(bounds, "max", float, None, "elapsed"),  # type: ignore[arg-type]
        )
    concurrency = reader.opt(table, "concurrency", int, 1)
    if not 1 <= concurrency <= 1000:
        raise reader.fail("concurrency", "must be from 1 to 1000")
    return HttpCase(
        name=name,
        request=_request(reader, reader.get(table, "request", dict), "request"),
        expect=_expect(reader, reader.get(table, "expect", dict), errors, "expect"),
        concurrency=concurrency,
        elapsed=elapsed,
        xfail=_xfail(reader, table, targets),
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
        errors[code] = ErrorDef(code, status, reader.get(table, "message", str, code))
    return errors


def _behaviour(
    path: Path,
    index: int,
    entry: object,
    errors: Mapping[str, ErrorDef],
    targets: frozenset[str],
    earlier: Sequence[Behaviour],
) -> Behaviour:
    table = _Reader(path, "file").table(entry, f"behaviour[{index}]")
    named = table.get("id")
    reader = _Reader(path, f"behaviour {named!r}" if named else f"behaviour[{index}]")
    reader.keys(table, "", {"id", "purpose", "seed", "implementations", "notes", "case"})
    behaviour_id = reader.get(table, "id", str)
    if any(b.id == behaviour_id for b in earlier):
        raise reader.fail("id", "is used by an earlier behaviour")
    purpose = reader.get(table, "purpose", str)
    if not purpose or "\n" in purpose:
        raise reader.fail("purpose", "must be one line")
    cases: list[Case] = []
    for case_index, case in enumerate(reader.get(table, "case", list)):
        case_reader = _Reader(path, f"{reader.where}, case {case_index + 1}")
        cases.append(_case(case_reader, case, errors, targets))
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
    )


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(path, "file", "(toml)", str(error)) from None
    _Reader(path, "file").keys(data, "", {"errors", "behaviour"})
    return data


def parse_files(files: Sequence[tuple[Path, str]], targets: frozenset[str]) -> Spec:
    """Parse spec files given as (path, text): the error catalogue first, then the behaviours."""
    documents = [(path, _toml(path, text)) for path, text in files]
    errors: dict[str, ErrorDef] = {}
    for path, data in documents:
        for code, entry in _errors(path, data).items():
            if code in errors:
                raise SpecError(path, "errors", code, "is defined in an earlier file too")
            errors[code] = entry
    behaviours: list[Behaviour] = []
    for path, data in documents:
        entries = _Reader(path, "file").opt(data, "behaviour", list, [])
        for index, entry in enumerate(entries):
            behaviours.append(_behaviour(path, index, entry, errors, targets, behaviours))
    if not behaviours:
        raise SpecError(files[0][0] if files else SPEC_DIR, "file", "behaviour", "none defined")
    return Spec(
        path=files[0][0].parent if len(files) > 1 else files[0][0],
        errors=errors,
        behaviours=tuple(behaviours),
    )


def parse(path: Path, text: str, targets: frozenset[str]) -> Spec:
    """Parse one spec file's text; `targets` are the names an `xfail` may use."""
    return parse_files([(path, text)], targets)


def spec_files(path: Path = SPEC_DIR) -> list[Path]:
    """A spec is a directory of TOML files, read in name order, or one file."""
    return sorted(path.glob("*.toml")) if path.is_dir() else [path]


def load_errors(path: Path = SPEC_DIR) -> dict[str, ErrorDef]:
    """Only the error catalogue: what the apps need at run time."""
    errors: dict[str, ErrorDef] = {}
    for file in spec_files(path):
        errors.update(_errors(file, _toml(file, file.read_text(encoding="utf-8"))))
    return errors


def load(path: Path = SPEC_DIR, targets: frozenset[str] | None = None) -> Spec:
    """Load and check a spec (by default the project's own, shared/behaviours/*.toml)."""
    if targets is None:
        from shared.targets import load_targets  # here: shared.targets imports this module

        targets = frozenset(load_targets())
    return parse_files([(f, f.read_text(encoding="utf-8")) for f in spec_files(path)], targets)


@cache
def spec() -> Spec:
    """The project's spec, loaded once."""
    return load()
