"""HTTP/1.1 conformance rules (http.toml): what tests/test_http_conformance.py sends and expects."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import msgspec

from shared.runtime.data import UPLOAD_BODY_MAX_BYTES, UPLOAD_MAX_BYTES

HTTP_RULES_PATH = Path(__file__).with_name("http.toml")
SECTION = re.compile(r"RFC 911[02] §\d+(\.\d+)*(, (§\d+(\.\d+)*|Appendix [A-Z](\.\d+)*))*")
UPLOAD_BOUNDARY = "conformance"
DEFAULT_WAIT = 5.0

type Check = Literal["answers", "before-body", "continue", "no-hang", "hostile", "served-meanwhile"]
HOSTILE_CHECKS = ("hostile", "served-meanwhile")  # tests/test_hostile.py's; the rest are
# tests/test_http_conformance.py's
type Level = Literal["MUST", "SHOULD", "MAY"]


class Expected(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One answer as a rule wants it; an empty one is any answer."""

    status: tuple[int, ...] = ()  # any of these; none: any status
    headers: dict[str, str] = {}  # lower-case name -> a regex its value matches
    absent: tuple[str, ...] = ()  # lower-case names it must not have
    body: str | None = None  # a regex found in the body


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    section: str
    level: Level
    says: str
    check: Check
    requests: tuple[str, ...]
    answers: tuple[Expected, ...]
    connections: Literal["one", "each"] = "one"
    close: bool = False
    wait: float = DEFAULT_WAIT
    # A hostile client (tests/test_hostile.py): how many at once, and the byte each sends every
    # second after its request, for ever.
    clients: int = 1
    drip: str = ""

    def wire(self, host: str) -> list[bytes]:
        """Its requests as bytes sent to `host` (host:port), placeholders filled."""
        return [fill(request, host).encode("latin-1") for request in self.requests]

    def method(self, index: int) -> str:
        """The method of request `index`, which frames its answer (HEAD: no body)."""
        return self.requests[index].partition(" ")[0]

    def http10(self, index: int) -> bool:
        return self.requests[index].partition("\n")[0].rstrip("\r").endswith("HTTP/1.0")


class _File(msgspec.Struct, forbid_unknown_fields=True):
    rule: list[Rule]


def upload_body() -> bytes:
    """The multipart body of a 10 MiB upload, the largest file the apps take."""
    head = (
        f"--{UPLOAD_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="conformance.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + b"\0" * UPLOAD_MAX_BYTES + f"\r\n--{UPLOAD_BOUNDARY}--\r\n".encode()


def fill(request: str, host: str) -> str:
    """`request` with its placeholders filled; {length} last, counting what the others made."""
    values = {
        "host": host,
        "upload_length": str(len(upload_body())),
        "over_upload_limit": str(UPLOAD_BODY_MAX_BYTES + 1),
        "one_mebibyte": "a" * 1024 * 1024,
        "hundred_kibibytes": "a" * 100 * 1024,
    }
    for name, value in values.items():
        request = request.replace(f"{{{name}}}", value)
    body = request.partition("\r\n\r\n")[2]
    return request.replace("{length}", str(len(body.encode("latin-1"))))


def load_rules(path: Path = HTTP_RULES_PATH) -> list[Rule]:
    """Read the rules; a malformed one fails with the file and the rule named."""
    try:
        rules = msgspec.toml.decode(path.read_bytes(), type=_File).rule
    except msgspec.ValidationError as error:
        raise ValueError(f"{path}: {error}") from None
    seen: set[str] = set()
    for number, rule in enumerate(rules, 1):
        where = f"{path}: rule {number} ({rule.name})"
        if rule.name in seen:
            raise ValueError(f"{where}: its name is another rule's")
        seen.add(rule.name)
        if not SECTION.fullmatch(rule.section):
            raise ValueError(f"{where}: section is `RFC 9110 §n.n` or `RFC 9112 §n.n`")
        if len(rule.answers) != len(rule.requests):
            raise ValueError(f"{where}: one answer for each request")
        if rule.check != "answers" and len(rule.requests) != 1:
            raise ValueError(f"{where}: a {rule.check!r} check sends one request")
        if unknown := set(re.findall(r"\{(\w+)\}", "".join(rule.requests))) - PLACEHOLDERS:
            raise ValueError(f"{where}: unknown placeholder {sorted(unknown)[0]!r}")
    return rules


PLACEHOLDERS = {"host", "length", "upload_length", "over_upload_limit"}
PLACEHOLDERS |= {"one_mebibyte", "hundred_kibibytes"}


@cache
def http_rules() -> tuple[Rule, ...]:
    """The project's rules, read once."""
    return tuple(load_rules())
