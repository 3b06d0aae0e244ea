"""The registry of expected differences (expected.toml): what differs, where, why, and how."""

from __future__ import annotations

import email
import fnmatch
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote_to_bytes

import msgspec

from shared.harness.http_rules import http_rules
from shared.harness.raw import RawRequest
from shared.harness.targets import PROJECT_ROOT, load_targets
from shared.spec import NEEDS, Need, Spec, spec

HARNESS = Path(__file__).parent
EXPECTED_PATH = HARNESS / "expected.toml"
LIFECYCLE_PATH = HARNESS / "lifecycle.toml"
CONFORMANCE_PATH = HARNESS / "conformance.toml"
# A reason cites the server's or framework's source: a file and a line (`daphne/server.py:149`).
SOURCE_LINE = re.compile(r"[\w./-]+\.[a-z]+:\d+")
TEST_NODE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
AUTOBAHN_CASE = re.compile(r"\d+(\.\d+)*")

type Kind = Literal["strict", "timing-dependent"]


class What(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """What differs: one of a lacked need, a spec case, a test, a lifecycle check, an Autobahn
    case, requests a server answers itself (named by what they are), or an HTTP conformance rule
    (http.toml). Built by the readers too, to look an entry up: What(behaviour="hello", ...)."""

    lacks: str | None = None
    behaviour: str | None = None
    case: str | None = None
    test: str | None = None
    lifecycle: str | None = None
    autobahn: str | None = None
    requests: str | None = None
    http: str | None = None

    def named(self) -> dict[str, str]:
        """Its fields that are set."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}

    def __str__(self) -> str:
        if self.behaviour is not None:
            return f"{self.behaviour}: {self.case}"
        return " ".join(f"{name} {value}" for name, value in self.named().items())

    def forms(self) -> list[str]:
        """The kinds of `what` it names: exactly one for a well-formed entry."""
        named = set(self.named())
        if {"behaviour", "case"} & named:
            named = (named - {"behaviour", "case"}) | {"behaviour+case"}
        return sorted(named)


class RequestPattern(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Requests a server answers itself, before the app runs: every field given must match."""

    method: str | None = None  # a regex the whole method matches
    target: str | None = None  # a regex found in the request-target
    line_longer_than: int | None = None  # the request line's bytes, CRLF aside
    headers: Mapping[str, str] = {}  # lower-case name -> a regex found in one of its values
    repeated: tuple[str, ...] = ()  # lower-case names given more than once
    body: str | None = None  # a regex found in the body, read as Latin-1
    # Defects Python's email package finds in the body read as MIME with its Content-Type (one
    # of them): email.errors' names, e.g. CloseBoundaryNotFoundDefect.
    multipart_defects: tuple[str, ...] = ()
    path_not_utf8: bool = False  # the path's bytes, percent-decoded, are not UTF-8

    def matches(self, request: RawRequest) -> bool:
        line = f"{request.method} {request.target} {request.version}".encode(errors="replace")
        return (
            (self.method is None or re.fullmatch(self.method, request.method) is not None)
            and (self.target is None or re.search(self.target, request.target) is not None)
            and (self.line_longer_than is None or len(line) > self.line_longer_than)
            and all(
                any(re.search(pattern, value) for value in request.header(name))
                for name, pattern in self.headers.items()
            )
            and all(len(request.header(name)) > 1 for name in self.repeated)
            and (not self.multipart_defects or bool(set(self.multipart_defects) & defects(request)))
            and (not self.path_not_utf8 or not utf8_path(request.target))
            and (self.body is None or re.search(self.body, request.body.decode("latin-1")))
            is not None
        )


def utf8_path(target: str) -> bool:
    """Whether the path of `target`, percent-decoded, is UTF-8."""
    path = target.partition("?")[0].encode("utf-8", "surrogateescape")
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def defects(request: RawRequest) -> set[str]:
    """What Python's email package finds wrong in the body as MIME with its Content-Type (the
    first given): the names of its defects, the parts' too."""
    media_type = next(iter(request.header("content-type")), "")
    head = f"MIME-Version: 1.0\r\nContent-Type: {media_type}\r\n\r\n"
    message = email.message_from_bytes(head.encode("latin-1", "replace") + request.body)
    return {type(defect).__name__ for part in message.walk() for defect in part.defects}


class AnswerPattern(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How the target answers them: its status, and a body that is empty, or is not the shared
    JSON error body (`other`), or is the shared body with this error `code`; and what the body
    `contains`."""

    status: Annotated[int, msgspec.Meta(ge=101, le=599)]  # 101: a handshake opened
    body: Literal["empty", "other"] | None = None
    code: str | None = None
    contains: str | None = None  # a regex found in the body, read as UTF-8

    def matches(self, status: int | None, body: bytes) -> bool:
        if status != self.status:
            return False
        if self.contains is not None and not re.search(
            self.contains, body.decode(errors="replace")
        ):
            return False
        if self.code is not None:
            return shared_error(body) and json.loads(body)["error"]["code"] == self.code
        return not body.strip() if self.body == "empty" else not shared_error(body)


def shared_error(body: bytes) -> bool:
    """Whether `body` is the shared JSON error body, {"error": {"code", "message"}}."""
    try:
        found = json.loads(body)
    except ValueError:
        return False
    error = found.get("error") if isinstance(found, dict) else None
    return isinstance(error, dict) and {"code", "message"} <= set(error)


class Example(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A request of the shape, sent by tests/test_expected.py to see the declared answer come."""

    target: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    target_length: int | None = None  # the target filled up to this length with "a"s

    def request(self, origin: str = "http://127.0.0.1:8082") -> RawRequest:
        """The request, sent to the server at `origin` (its own origin where `{origin}` is)."""
        target = self.target.ljust(self.target_length or 0, "a")
        headers = tuple((name, value.replace("{origin}", origin)) for name, value in self.headers)
        return RawRequest(
            method=self.method, target=target, headers=headers, body=self.body.encode()
        )


class Difference(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One expected difference: `what` differs on `targets`, because of `why`; requests a
    server answers itself say which (`request`), how (`answer`), and one `example`."""

    what: What
    targets: tuple[str, ...]
    kind: Kind
    why: str
    request: RequestPattern | None = None
    answer: AnswerPattern | None = None
    example: Example | None = None

    @property
    def strict(self) -> bool:
        """A strict one fails, and its passing fails the suite; else either outcome passes."""
        return self.kind == "strict"


class _File(msgspec.Struct, forbid_unknown_fields=True):
    difference: list[Difference] = []


@dataclass
class Registry:
    """Every expected difference, each target's looked up by what differs."""

    path: Path
    differences: tuple[Difference, ...]
    index: dict[tuple[What, str], Difference] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {(e.what, target): e for e in self.differences for target in e.targets}

    def on(self, what: What, target: str) -> Difference | None:
        """The difference declared for `what` on `target`, if any."""
        return self.index.get((what, target))

    def lacks(self, target: str) -> dict[Need, str]:
        """What `target` lacks, in NEEDS's order, with the reasons."""
        found = {need: self.on(What(lacks=need), target) for need in NEEDS}
        return {need: entry.why for need, entry in found.items() if entry is not None}

    def lacking(self, target: str, needs: Iterable[str]) -> str | None:
        """Why a test with these needs fails on `target`: the reasons of what it lacks, or None."""
        wanted = set(needs)
        return "; ".join(why for need, why in self.lacks(target).items() if need in wanted) or None

    def autobahn(self, target: str) -> dict[str, Difference]:
        """The Autobahn cases declared for `target`, by case id."""
        return {
            entry.what.autobahn: entry
            for entry in self.differences
            if entry.what.autobahn is not None and target in entry.targets
        }

    def server_answer(
        self, target: str, request: RawRequest, status: int | None, body: bytes
    ) -> Difference | None:
        """The declared difference that says `target` may answer `request` itself with this
        status and body, if any. Its `example` shows it does (tests/test_expected.py)."""
        for entry in self.differences:
            if (
                target in entry.targets
                and entry.request is not None
                and entry.answer is not None
                and entry.answer.matches(status, body)  # the cheaper test first
                and entry.request.matches(request)
            ):
                return entry
        return None

    def of(self, form: str) -> list[Difference]:
        """The entries of one kind of `what`: lacks, behaviour+case, test, lifecycle, autobahn,
        requests, http."""
        return [entry for entry in self.differences if entry.what.forms() == [form]]


def lifecycle_checks(path: Path = LIFECYCLE_PATH) -> dict[str, str]:
    """tests/test_lifecycle.py's checks, by name, with what each checks."""
    return dict(tomllib.loads(path.read_text(encoding="utf-8"))["checks"])


def conformance_cases(path: Path = CONFORMANCE_PATH) -> list[str]:
    """The Autobahn cases the conformance test plays (patterns such as `7.*`)."""
    return list(tomllib.loads(path.read_text(encoding="utf-8"))["cases"])


def load_expected(path: Path = EXPECTED_PATH, the_spec: Spec | None = None) -> Registry:
    """Read the registry and check each entry against the spec, the targets, the checks and the
    Autobahn cases it names; a malformed entry fails with the file and the entry named."""
    try:
        entries = msgspec.toml.decode(path.read_bytes(), type=_File).difference
    except msgspec.ValidationError as error:
        raise ValueError(f"{path}: {error}") from None
    checker = _Checker(the_spec or spec())
    seen: dict[tuple[What, str], int] = {}
    for number, entry in enumerate(entries, 1):
        where = f"{path}: difference {number} ({entry.what})"
        if problem := checker.problem(entry):
            raise ValueError(f"{where}: {problem}")
        for target in entry.targets:
            if (entry.what, target) in seen:
                earlier = seen[entry.what, target]
                raise ValueError(f"{where}: {target} is declared already, by difference {earlier}")
            seen[entry.what, target] = number
    return Registry(path=path, differences=tuple(entries))


@dataclass
class _Checker:
    """What an entry may name: the spec's cases, the targets, the checks and Autobahn's cases."""

    spec: Spec

    def __post_init__(self) -> None:
        self.targets = list(load_targets())
        self.checks = list(lifecycle_checks())
        self.autobahn_cases = conformance_cases()
        self.http_rules = [rule.name for rule in http_rules()]

    def problem(self, entry: Difference) -> str | None:
        what = entry.what
        if len(forms := what.forms()) != 1:
            kinds = "lacks, behaviour and case, test, lifecycle, autobahn, requests, http"
            return f"`what` names one of {kinds}; got {forms or 'none'}"
        if not entry.targets:
            return "`targets` is empty"
        if unknown := [t for t in entry.targets if t not in self.targets]:
            return f"unknown target {unknown[0]!r}; known: {', '.join(self.targets)}"
        if not SOURCE_LINE.search(entry.why):
            return "`why` must cite the server's or framework's source, with a file:line"
        if (what.requests is not None) != (
            entry.request is not None and entry.answer is not None and entry.example is not None
        ):
            return "requests a server answers itself have `request`, `answer` and `example`"
        if entry.request is not None and entry.example is not None:
            if not entry.request.matches(entry.example.request()):
                return "its `example` is not one of its `request`s"
        if (answer := entry.answer) is not None:
            if (answer.body is None) == (answer.code is None):
                return "an `answer` has a `body` (empty or other) or an error `code`, not both"
            if answer.code is not None and answer.code not in self.spec.errors:
                return f"unknown error code {answer.code!r}"
        if what.lacks is not None:
            if what.lacks not in NEEDS:
                return f"unknown need {what.lacks!r}; known: {', '.join(NEEDS)}"
            if not entry.strict:
                return "a lacked need is strict: its tests fail there"
        if what.behaviour is not None or what.case is not None:
            return self.case_problem(what)
        if what.test is not None:
            return self.test_problem(what.test)
        if what.lifecycle is not None and what.lifecycle not in self.checks:
            return f"unknown lifecycle check; known: {', '.join(self.checks)}"
        if what.http is not None and what.http not in self.http_rules:
            return "tests/test_http_conformance.py checks no such rule (http.toml's names)"
        if what.autobahn is not None:
            if not AUTOBAHN_CASE.fullmatch(what.autobahn):
                return "an Autobahn case id is numbers and dots, e.g. 7.9.5"
            if not any(fnmatch.fnmatch(what.autobahn, pattern) for pattern in self.autobahn_cases):
                return "the conformance test does not play it (conformance.toml's cases)"
        return None

    def case_problem(self, what: What) -> str | None:
        if what.behaviour is None or what.case is None:
            return "a spec case is named by both `behaviour` and `case` (its name)"
        try:
            behaviour = self.spec.behaviour(what.behaviour)
        except KeyError:
            return f"the spec has no behaviour {what.behaviour!r}"
        if what.case not in (names := [case.name for case in behaviour.cases]):
            return f"behaviour {what.behaviour!r} has no case of that name; its cases: {names}"
        return None

    def test_problem(self, test: str) -> str | None:
        if not (match := TEST_NODE.fullmatch(test)):
            return "a test is named by its node id: tests/test_x.py::test_y, without parameters"
        module = PROJECT_ROOT / match[1]
        if not module.is_file():
            return f"no module {match[1]}"
        if not re.search(rf"^(async )?def {match[2]}\(", module.read_text("utf-8"), re.MULTILINE):
            return f"{match[1]} defines no {match[2]}"
        return None


@cache
def expected() -> Registry:
    """The project's registry, read once."""
    return load_expected()
