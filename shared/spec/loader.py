"""The spec's loader: behaviours/*.toml decoded by msgspec, then the cross-field checks."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
from jsonschema import Draft202012Validator, SchemaError

from shared.runtime.errors import ErrorDef, catalogue
from shared.spec.model import (
    APPS,
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    SPEC_DIR,
    Behaviour,
    Case,
    HttpCase,
    HttpExpect,
    JsonSchema,
    Route,
    Spec,
    SpecFile,
    WsCase,
    decode_hook,
)
from shared.spec.variables import BUILTIN_VARIABLES, VARIABLE, placeholders

STEP_KEYS = ("request", "expect", "concurrency", "elapsed")  # a one-request case's own step
# msgspec's "<problem> - at `$.behaviour[3].case[0].expect.status`"; a problem raised in a hook
# or a __post_init__ may end in a path of its own, within the outer one; "at `key` in `$...`"
# is a mapping's key.
SCHEMA_REF = "#/components/schemas/"  # a route's schema names a file's [schemas.Name] so
AT_PATH = re.compile(r"(?s)(?P<rest>.*) - at (?P<key>`key` in )?`\$(?P<at>[^`]*)`")
FIELD_PROBLEM = re.compile(r"Object (?P<what>contains unknown|missing required) field `(?P<f>.*)`")
PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


class SpecError(ValueError):
    """A malformed spec: the message names the file, the behaviour and the field."""

    def __init__(self, path: Path, where: str, field: str, problem: str) -> None:
        self.path, self.where, self.field, self.problem = path, where, field, problem
        super().__init__(f"{path}: {where}: field {field!r}: {problem}")


def _behaviour_name(data: Mapping[str, Any], index: int) -> str:
    """`behaviour 'id'`, or `behaviour[index]` for one without an id (yet)."""
    entries = data.get("behaviour")
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    named = entry.get("id") if isinstance(entry, dict) else None
    return f"behaviour {named!r}" if isinstance(named, str) and named else f"behaviour[{index}]"


def _normalise(path: Path, data: dict[str, Any]) -> set[tuple[int, int]]:
    """Tag each case `kind` and give a one-request case its `steps` (msgspec decodes neither
    shorthand); return the (behaviour, case) indexes of one-request cases."""
    shorthand: set[tuple[int, int]] = set()
    entries = data.get("behaviour")
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        if not isinstance(entry, dict):
            continue
        where = _behaviour_name(data, index)
        if "source" in entry:  # the loader's, not the file's
            raise SpecError(path, where, "source", "unknown field")
        cases = entry.get("case")
        for case_index, case in enumerate(cases if isinstance(cases, list) else ()):
            if not isinstance(case, dict):
                continue
            if "kind" in case:  # the loader's tag
                raise SpecError(path, f"{where}, case {case_index + 1}", "kind", "unknown field")
            case["kind"] = "websocket" if "websocket" in case else "http"
            if case["kind"] == "http" and "steps" not in case:
                case["steps"] = [{key: case.pop(key) for key in STEP_KEYS if key in case}]
                shorthand.add((index, case_index))
    return shorthand


def _spec_error(
    path: Path, data: Mapping[str, Any], shorthand: set[tuple[int, int]], error: Exception
) -> SpecError:
    """msgspec's `problem - at `$.behaviour[3].case[0].expect.status`` as a SpecError naming the
    file, the behaviour (by id) and its case, and the field within it."""
    problem, at = str(error), ""
    while found := AT_PATH.fullmatch(problem):
        problem, at = found["rest"], at + found["at"]
        if found["key"]:
            problem += " (a key)"
    parts: list[str | int] = [
        name or (int(index) if index.isdigit() else "...") for name, index in PATH_PART.findall(at)
    ]
    if named := FIELD_PROBLEM.fullmatch(problem):
        parts.append(named["f"])
        problem = "unknown field" if named["what"] == "contains unknown" else "is required"
    where = "file"
    if len(parts) > 2 and parts[0] == "behaviour" and isinstance(parts[1], int):
        behaviour = parts[1]
        where, parts = _behaviour_name(data, behaviour), parts[2:]
        if len(parts) > 2 and parts[0] == "case" and isinstance(parts[1], int):
            case = parts[1]
            where, parts = f"{where}, case {case + 1}", parts[2:]
            if (behaviour, case) in shorthand and parts[:2] == ["steps", 0]:
                parts = parts[2:]
    field = "".join(
        f"[{part}]" if isinstance(part, int) or part == "..." else f".{part}" for part in parts
    ).removeprefix(".")
    return SpecError(path, where, field, problem)


def _decode(path: Path, text: str) -> tuple[SpecFile, set[tuple[int, int]]]:
    """The file decoded, and the (behaviour, case) indexes of its one-request cases."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(path, "file", "(toml)", str(error)) from None
    shorthand = _normalise(path, data)
    try:
        return msgspec.convert(data, SpecFile, dec_hook=decode_hook), shorthand
    except msgspec.ValidationError as error:
        raise _spec_error(path, data, shorthand, error) from None


class _Checker:
    """The cross-field checks msgspec cannot make, raising SpecError naming the field."""

    def __init__(
        self, path: Path, errors: Mapping[str, ErrorDef], schemas: Mapping[str, JsonSchema] = {}
    ) -> None:
        self.path, self.errors, self.schemas = path, errors, schemas
        self.where = "file"

    def fail(self, field: str, problem: str) -> SpecError:
        return SpecError(self.path, self.where, field, problem)

    def behaviour(
        self, behaviour: Behaviour, where: str, earlier: Sequence[Behaviour], one_request: set[int]
    ) -> None:
        self.where = where
        if any(b.id == behaviour.id for b in earlier):
            raise self.fail("id", "is used by an earlier behaviour")
        self.implementations(behaviour.implementations)
        for index, case in enumerate(behaviour.cases):
            self.where = f"{where}, case {index + 1}"
            if isinstance(case, WsCase):
                self.ws_case(case)
            else:
                self.http_case(case, in_steps=index not in one_request)
        self.where = where
        for index, route in enumerate(behaviour.routes):
            self.route(route, f"route[{index}]")
        for index, stage in enumerate(behaviour.stages):
            if stage.aiohttp is None and stage.django is None:
                raise self.fail(f"stage[{index}]", "names the line it starts on in neither app")

    def schema(self, schema: JsonSchema, field: str) -> None:
        """A valid JSON Schema 2020-12 whose every $ref names one of the spec's schemas."""
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            raise self.fail(field, f"not a JSON Schema: {error.message}") from None
        for ref in _schema_refs(schema):
            if not ref.startswith(SCHEMA_REF) or ref.removeprefix(SCHEMA_REF) not in self.schemas:
                raise self.fail(field, f"$ref {ref!r} names none of {sorted(self.schemas)}")

    def route(self, route: Route, field: str) -> None:
        declared, named = set(route.path_params), route.path_names()
        if sorted(declared) != sorted(named):
            raise self.fail(
                f"{field}.path_params", f"must declare {sorted(named)} (the path's), no other"
            )
        if route.websocket and route.method != "GET":
            raise self.fail(f"{field}.method", "a websocket handshake is a GET (RFC 6455 §4.1)")
        for name in route.headers:
            if name != name.lower():
                raise self.fail(f"{field}.headers.{name}", "must be lower-case")
        if route.csrf and (CSRF_COOKIE not in route.cookies or CSRF_HEADER not in route.headers):
            raise self.fail(
                f"{field}.cookies",
                f"the CSRF rule applies (a {route.method} that reads {SESSION_COOKIE}): declare"
                f" cookies.{CSRF_COOKIE} and headers.{CSRF_HEADER} too",
            )
        for index, code in enumerate(route.errors):
            self.error(code, f"{field}.errors[{index}]")
        for kind, params in (
            ("path_params", route.path_params), ("query", route.query), ("headers", route.headers),
            ("cookies", route.cookies),
        ):  # fmt: skip
            for name, param in params.items():
                self.schema(param.schema, f"{field}.{kind}.{name}.schema")
        if route.body is not None:
            self.schema(route.body.schema, f"{field}.body.schema")
        for index, answer in enumerate(route.answers):
            self.schema(answer.schema, f"{field}.answers[{index}].schema")
            if answer.empty and answer.schema:
                raise self.fail(f"{field}.answers[{index}].schema", "an empty answer has none")

    def implementations(self, found: Mapping[str, tuple[str, ...]]) -> None:
        if unknown := sorted(set(found) - set(APPS)):
            raise self.fail(f"implementations.{unknown[0]}", "unknown field")
        for app in APPS:
            if app not in found:
                raise self.fail(f"implementations.{app}", "is required")
            if not found[app]:
                raise self.fail(f"implementations.{app}", "must name at least one module:qualname")
            for i, ref in enumerate(found[app]):
                module, _, qualname = ref.partition(":")
                if not qualname or module.partition(".")[0] not in (f"{app}_app", "shared"):
                    raise self.fail(
                        f"implementations.{app}[{i}]",
                        f"must be '{app}_app.<module>:<qualname>' or 'shared.<module>:<qualname>'",
                    )

    def error(self, code: str, field: str) -> ErrorDef:
        if code not in self.errors:
            raise self.fail(field, f"unknown error code {code!r}")
        return self.errors[code]

    def expect(self, expect: HttpExpect, field: str) -> None:
        if expect.error_code is not None:
            entry = self.error(expect.error_code, f"{field}.error")
            if entry.status != expect.status:
                raise self.fail(
                    f"{field}.status", f"error {entry.code!r} is sent with {entry.status}"
                )

    def ws_case(self, case: WsCase) -> None:
        for name, value in case.sent_headers.items():
            if value is True:
                raise self.fail(f"headers.{name}", "must be a string, or false to send none")
        for i, step in enumerate(case.steps):
            if isinstance(step.expect_error, str):
                self.error(step.expect_error, f"steps[{i}].expect_error")
            elif step.expect_error is not None:
                self.error(step.expect_error.code, f"steps[{i}].expect_error.code")
            if (refusal := step.expect_refusal) is not None:
                if len(case.steps) > 1:
                    raise self.fail(f"steps[{i}]", "a refused handshake is the case's only step")
                if refusal.status < 400:
                    raise self.fail(
                        f"steps[{i}].expect_refusal.status", "a refusal is a status from 400 to 599"
                    )
                self.expect(refusal, f"steps[{i}].expect_refusal")

    def http_case(self, case: HttpCase, in_steps: bool) -> None:
        """Every `{name}` is a built-in or saved by an earlier step (or, in expect, by this one)."""
        known = set(BUILTIN_VARIABLES)
        for index, step in enumerate(case.steps):
            prefix = f"steps[{index}]." if in_steps else ""
            for variable in step.save:
                if not VARIABLE.fullmatch(variable) or variable in BUILTIN_VARIABLES:
                    raise self.fail(
                        f"{prefix}save.{variable}",
                        f"must be a lower-case name other than {sorted(BUILTIN_VARIABLES)}",
                    )
            self.expect(step.expect, f"{prefix}expect")
            request, expect = step.request, step.expect
            used = [request.path, dict(request.query), dict(request.headers), request.json]
            used += [[part.value, part.filename] for part in request.multipart]
            self.variables(used, known, f"{prefix}request")
            known |= set(step.save)
            expected = [dict(expect.headers), expect.json, expect.json_subset, expect.text]
            self.variables([*expected, dict(expect.error_params)], known, f"{prefix}expect")

    def variables(self, values: object, known: set[str], field: str) -> None:
        for variable in sorted(placeholders(values)):
            if variable not in known:
                raise self.fail(
                    field, f"unknown variable {{{variable}}}; known here: {sorted(known)}"
                )


def _schema_refs(schema: object) -> set[str]:
    """Every `$ref` in a schema, at any depth."""
    if isinstance(schema, Mapping):
        refs = {ref} if isinstance(ref := schema.get("$ref"), str) else set()
        return refs.union(*(_schema_refs(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_schema_refs(value) for value in schema))
    return set()


def parse_files(
    files: Sequence[tuple[Path, str]], errors: Mapping[str, ErrorDef] | None = None
) -> Spec:
    """Parse spec files given as (path, text); their cases name codes of `errors` (by default
    the catalogue, shared/runtime/errors.toml)."""
    errors = catalogue() if errors is None else errors
    behaviours: list[Behaviour] = []
    decoded_files = [(path, *_decode(path, text)) for path, text in files]
    schemas: dict[str, JsonSchema] = {}
    for path, decoded, _ in decoded_files:
        for name, schema in decoded.schemas.items():
            if name in schemas:
                raise SpecError(path, "file", f"schemas.{name}", "is defined in another file")
            schemas[name] = schema
    for path, decoded, _ in decoded_files:
        checker = _Checker(path, errors, schemas)
        for name, schema in decoded.schemas.items():
            checker.schema(schema, f"schemas.{name}")
    routes: set[str] = set()
    for path, decoded, shorthand in decoded_files:
        checker = _Checker(path, errors, schemas)
        for index, behaviour in enumerate(decoded.behaviour):
            one_request = {case for b, case in shorthand if b == index}
            where = f"behaviour {behaviour.id!r}" if behaviour.id else f"behaviour[{index}]"
            checker.behaviour(behaviour, where, behaviours, one_request)
            for route_index, route in enumerate(behaviour.routes):
                if route.key in routes:
                    raise checker.fail(f"route[{route_index}]", f"{route.key} is declared twice")
                routes.add(route.key)
            behaviours.append(_with_needs(behaviour, path))
    if not behaviours:
        raise SpecError(files[0][0] if files else SPEC_DIR, "file", "behaviour", "none defined")
    return Spec(
        path=files[0][0].parent if len(files) > 1 else files[0][0],
        errors=errors,
        behaviours=tuple(behaviours),
        schemas=schemas,
    )


def _with_needs(behaviour: Behaviour, path: Path) -> Behaviour:
    """The behaviour from `path`, each case needing what it and its behaviour say, and a
    websocket case websockets (a refused handshake is an HTTP answer: not unless it says so)."""
    cases: list[Case] = []
    for case in behaviour.cases:
        needs = behaviour.needs | case.needs
        if isinstance(case, WsCase) and case.steps[0].expect_refusal is None:
            needs |= {"websocket"}
        cases.append(msgspec.structs.replace(case, needs=needs))
    return msgspec.structs.replace(behaviour, cases=tuple(cases), source=path)


def parse(path: Path, text: str, errors: Mapping[str, ErrorDef] | None = None) -> Spec:
    """Parse one spec file's text."""
    return parse_files([(path, text)], errors)


def spec_files(path: Path = SPEC_DIR) -> list[Path]:
    """A spec is a directory of TOML files, read in name order, or one file."""
    return sorted(path.glob("*.toml")) if path.is_dir() else [path]


def load(path: Path = SPEC_DIR, errors: Mapping[str, ErrorDef] | None = None) -> Spec:
    """Load and check a spec (by default the project's own, shared/spec/behaviours/*.toml)."""
    files = [(f, f.read_text(encoding="utf-8")) for f in spec_files(path)]
    return parse_files(files, errors)


@cache
def spec() -> Spec:
    """The project's spec, loaded once."""
    return load()
