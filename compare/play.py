"""Play spec cases against running servers with the suite's client, and keep what each answered."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import Event

from compare.cases import body_text, byte_count, payload
from compare.report import Outcome
from shared.harness.client import run_http_case, run_ws_case
from shared.harness.expected import Registry, What, expected
from shared.spec import Behaviour, Case, HttpCase, Payload, Spec

# What `make run` serves (the Makefile's `run`): the default of `try` and of the site's Run buttons.
MAKE_RUN_URLS = {"aiohttp": "http://127.0.0.1:8081", "django-daphne": "http://127.0.0.1:8082"}
# Headers whose value is new on every request or connection: shown, never a difference.
VARYING = frozenset({"date", "x-request-id", "server-timing", "sec-websocket-accept"})
MISSING = "—"


class NotRunning(ConnectionError):
    """Nothing answers at a target's URL."""


@dataclass(frozen=True)
class Exchange:
    """One thing a server sent back: a response, a websocket handshake, a message or a close,
    as (field, value) rows: the status, each header, the body."""

    label: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Answer:
    """What one target answered to one case, and whether that is what the spec asks."""

    target: str
    url: str
    exchanges: tuple[Exchange, ...]
    outcome: Outcome  # as the suite reports it: passed, failed, xfailed or xpassed
    message: str = ""  # why the case failed: the suite's own assertion
    reason: str = ""  # the difference expected.toml declares for this case on this target

    @property
    def forbidden(self) -> bool:
        """The case failed where nothing declares a difference: the spec says it must not."""
        return self.outcome == "failed"

    @property
    def verdict(self) -> str:
        """The outcome in words, as `try` and the site's Run buttons show it."""
        return VERDICTS[self.outcome]


VERDICTS = {
    "passed": "meets the spec",
    "failed": "FAILS the spec",
    "xfailed": "differs, as declared",
    "xpassed": "meets the spec (a difference is declared)",
    "skipped": "skipped",
}


@dataclass(frozen=True)
class Row:
    """One line of the side by side: a field of an exchange, as each target answered it."""

    label: str  # the exchange's, on its first row only
    field: str
    values: tuple[str, ...]
    kind: Literal["same", "differs", "varies"]  # varies: a header new on every request


def declared(registry: Registry, target: str, behaviour: Behaviour, case: Case) -> tuple[str, bool]:
    """The reason the registry gives for this case failing on `target` ("" for none) and whether
    it is strict, as tests/plugins/expected.py marks the suite's tests."""
    if lacking := registry.lacking(target, case.needs):
        return lacking, True
    entry = registry.on(What(behaviour=behaviour.id, case=case.name), target)
    return (entry.why, entry.strict) if entry is not None else ("", False)


def body_field(response: httpx.Response) -> str:
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return "(not read)"
    if not content:
        return "(empty)"
    try:
        return body_text(content.decode(), len(content))
    except UnicodeDecodeError:
        return payload(Payload(data=content))


def header_fields(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each header once, lower-case, in the order received; a repeated one's values joined."""
    joined: dict[str, list[str]] = {}
    for name, value in headers:
        joined.setdefault(name.lower(), []).append(value)
    return [(name, ", ".join(values)) for name, values in joined.items()]


def response_fields(response: httpx.Response) -> tuple[tuple[str, str], ...]:
    status = f"{response.status_code} {response.reason_phrase}".rstrip()
    return (
        ("status", status),
        *header_fields(response.headers.multi_items()),
        ("body", body_field(response)),
    )


def http_exchanges(case: HttpCase, responses: Sequence[httpx.Response]) -> list[Exchange]:
    """A step's response (the first of a step sent N times at once, with the statuses of all)."""
    found: list[Exchange] = []
    seen = list(responses)
    for number, step in enumerate(case.steps, 1):
        mine, seen = seen[: step.concurrency], seen[step.concurrency :]
        if not mine:
            break
        label = "response" if len(case.steps) == 1 else f"step {number}"
        fields = response_fields(mine[0])
        if step.concurrency > 1:
            statuses: dict[int, int] = {}
            for response in mine:
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            counted = ", ".join(f"{count} × {status}" for status, count in sorted(statuses.items()))
            fields = (("all", f"{len(mine)} of {step.concurrency}: {counted}"), *fields)
            label += " (the first)"
        found.append(Exchange(label, fields))
    return found


def handshake_fields(response: Response) -> tuple[tuple[str, str], ...]:
    fields = [("status", f"{response.status_code} {response.reason_phrase}")]
    fields += header_fields(list(response.headers.raw_items()))
    if response.status_code != 101:
        body = bytes(response.body)
        fields.append(("body", body_text(body.decode(errors="replace"), len(body))))
    return tuple(fields)


def message_fields(opcode: Opcode, data: bytes) -> tuple[tuple[str, str], ...]:
    if opcode is Opcode.TEXT:
        text = data.decode(errors="replace")
        return (("text", body_text(text, len(data)) if text else "(empty)"),)
    if not data:
        return (("bytes", "(0 bytes)"),)
    shown = payload(Payload(data=data)) if len(data) <= 64 else f"{byte_count(len(data))}"
    return (("bytes", shown),)


def ws_exchanges(events: Sequence[Event]) -> list[Exchange]:
    """The handshake's answer, then each message (its frames joined) and the close received."""
    found: list[Exchange] = []
    parts: list[bytes] = []
    opcode = Opcode.TEXT
    for event in events:
        if isinstance(event, Response):
            found.append(Exchange("handshake", handshake_fields(event)))
            continue
        assert isinstance(event, Frame)
        if event.opcode is Opcode.CLOSE:
            close = Close.parse(event.data) if event.data else None
            code = f"{close.code}" if close else "(none)"
            fields = [("code", code)] + (
                [("reason", close.reason)] if close and close.reason else []
            )
            found.append(Exchange("close", tuple(fields)))
        elif event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if event.opcode is not Opcode.CONT:
                opcode, parts = event.opcode, []
            parts.append(bytes(event.data))
            if event.fin:
                number = sum(e.label.startswith("message") for e in found) + 1
                found.append(Exchange(f"message {number}", message_fields(opcode, b"".join(parts))))
    return found


def recording(events: list[Event]) -> type[ClientConnection]:
    """A websockets connection that keeps every event it receives: the handshake, each frame."""

    class Recording(ClientConnection):
        def process_event(self, event: Event) -> None:
            events.append(event)
            super().process_event(event)

    return Recording


async def play(
    spec: Spec, behaviour: Behaviour, index: int, target: str, url: str, unique: str
) -> Answer:
    """Play case `index` (0-based) on the server at `url`, as the suite plays it on `target`;
    `{unique}` stands for `unique`."""
    case = behaviour.cases[index]
    reason, strict = declared(expected(), target, behaviour, case)
    responses: list[httpx.Response] = []
    events: list[Event] = []

    async def keep(response: httpx.Response) -> None:
        responses.append(response)

    message = ""
    try:
        if isinstance(case, HttpCase):
            await run_http_case(spec, url, case.on(target), on_response=[keep], unique=unique)
        else:
            ws_url = "ws" + url.removeprefix("http")
            await run_ws_case(spec, ws_url, case, connection=recording(events))
    except AssertionError as error:
        message = str(error)
    except (httpx.ConnectError, ConnectionRefusedError) as error:
        raise NotRunning(f"nothing answers at {url} ({target}): {error}") from None
    except (httpx.HTTPError, WebSocketException, OSError, TimeoutError) as error:
        message = f"{type(error).__name__}: {error}".rstrip(": ")
    exchanges = http_exchanges(case, responses) if isinstance(case, HttpCase) else []
    exchanges += ws_exchanges(events)
    outcome: Outcome
    if message:
        outcome = "xfailed" if reason else "failed"
    else:
        outcome = "xpassed" if reason and strict else "passed"
    return Answer(target, url, tuple(exchanges), outcome, message, reason)


async def play_case(
    spec: Spec, behaviour: Behaviour, index: int, urls: Mapping[str, str]
) -> list[Answer]:
    """The case on every target at once, in the order given, with the same `{unique}`: what
    differs between their answers is theirs."""
    unique = uuid.uuid4().hex[:12]
    return list(
        await asyncio.gather(
            *(play(spec, behaviour, index, target, url, unique) for target, url in urls.items())
        )
    )


FIRST_FIELDS = ("all", "status", "code")  # then the headers; the body, or message, last
LAST_FIELDS = ("body", "text", "bytes", "reason")


def field_order(name: str) -> int:
    return 0 if name in FIRST_FIELDS else 2 if name in LAST_FIELDS else 1


def merged(orders: Sequence[Sequence[str]]) -> list[str]:
    """The names of several sequences in one order: each new one after its predecessor there."""
    found: list[str] = []
    for order in orders:
        for number, name in enumerate(order):
            if name not in found:
                found.insert(found.index(order[number - 1]) + 1 if number else 0, name)
    return found


def align(answers: Sequence[Answer]) -> list[Row]:
    """The answers side by side: the exchanges of the same label together (a message one target
    did not send is MISSING there), field by field: the status, the headers, the body."""
    rows: list[Row] = []
    by_label = [{exchange.label: exchange for exchange in answer.exchanges} for answer in answers]
    for label in merged([[exchange.label for exchange in answer.exchanges] for answer in answers]):
        exchanges = [found.get(label) for found in by_label]
        fields = [dict(exchange.fields) if exchange else {} for exchange in exchanges]
        names = sorted(merged([list(found) for found in fields]), key=field_order)
        for number, name in enumerate(names):
            values = tuple(found.get(name, MISSING) for found in fields)
            kind: Literal["same", "differs", "varies"] = "same"
            if len(set(values)) > 1:
                kind = "varies" if name in VARYING and MISSING not in values else "differs"
            rows.append(Row(label if number == 0 else "", name, values, kind))
    return rows


def to_json(answers: Sequence[Answer]) -> dict[str, object]:
    """The answers and their rows side by side, for the site's Run buttons."""
    return {
        "answers": [
            {
                "target": answer.target,
                "url": answer.url,
                "outcome": answer.outcome,
                "verdict": answer.verdict,
                "forbidden": answer.forbidden,
                "message": answer.message,
                "reason": answer.reason,
            }
            for answer in answers
        ],
        "rows": [
            {"label": row.label, "field": row.field, "values": row.values, "kind": row.kind}
            for row in align(answers)
        ],
    }


def dumps(answers: Sequence[Answer]) -> str:
    return json.dumps(to_json(answers), ensure_ascii=False)
