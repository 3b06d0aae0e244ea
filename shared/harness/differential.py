"""One request on every target, the answers compared: one status, error and shape, or declared."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.harness.expected import Registry, shared_error
from shared.harness.raw import Answer, RawRequest, exchange
from shared.spec import spec
from shared.spec.model import Route

WAIT = 15.0  # seconds for an answer: generated waits are cut to SHORT_WAIT, so this is a hang


def shape(value: Any) -> Any:
    """What a JSON answer is made of, without the values that may differ by run (ids, times):
    an object's keys with their shapes, a list's element shapes, a scalar's type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return sorted({repr(shape(item)) for item in value})
    return type(value).__name__


@dataclass(frozen=True)
class Verdict:
    """An answer as the targets are compared on: outcome, status, media type, the methods a
    405 allows, and the error body whole, or a JSON body's shape, or any other body's bytes."""

    outcome: str
    status: int | None = None
    media_type: str = ""
    allow: frozenset[str] = frozenset()
    body: str = ""

    @classmethod
    def of(cls, answer: Answer) -> Verdict:
        if answer.outcome != "response":
            return cls(answer.outcome)
        stream = answer.media_type == "text/event-stream"
        if answer.body and answer.media_type == "application/json" and not stream:
            found = answer.json()
            body = repr(found["error"] if shared_error(answer.body) else shape(found))
        else:
            body = "(a stream)" if stream else answer.body[:200].decode("latin-1")
        # A 204 has no content, so no media type either; Django's HttpResponse names one.
        media_type = "" if answer.status == 204 else answer.media_type
        allow = frozenset(m.strip() for m in (answer.header("allow") or "").split(",") if m)
        return cls("response", answer.status, media_type, allow, body)

    def __str__(self) -> str:
        if self.outcome != "response":
            return self.outcome
        return f"{self.status} {self.media_type or '(no type)'} {self.body[:160]}"


@dataclass(frozen=True)
class Played:
    """One request's answers, by target, and what the registry says of them."""

    request: RawRequest
    route: Route
    answers: Mapping[str, Answer]
    declared: Mapping[str, str]  # target -> the registry's `requests` entry that answered

    def verdicts(self) -> dict[str, Verdict]:
        return {
            target: Verdict.of(answer)
            for target, answer in self.answers.items()
            if target not in self.declared
        }

    def problems(self) -> list[str]:
        """What fails: a hang, a close or a malformed answer; a 5xx the route does not declare;
        targets that answer differently where nothing is declared."""
        found: list[str] = []
        deliberate = {spec().errors[code].status for code in self.route.errors}
        for target, verdict in self.verdicts().items():
            if verdict.outcome != "response":
                found.append(f"{target}: {self.answers[target].describe()}")
            elif verdict.status is not None and verdict.status >= 500:
                if verdict.status not in deliberate:
                    found.append(f"{target}: a {verdict.status} the route does not declare")
        groups: dict[Verdict, list[str]] = {}
        for target, verdict in self.verdicts().items():
            groups.setdefault(verdict, []).append(target)
        if len(groups) > 1:
            found.append(
                "the targets differ, and nothing in the registry says why:\n"
                + "\n".join(f"  {', '.join(ts)}: {verdict}" for verdict, ts in groups.items())
            )
        return found


def read_body(route: Route, request: RawRequest) -> bool:
    """Whether to read the answer's body: not an event stream's, which need not end."""
    stream = any(answer.media_type == "text/event-stream" for answer in route.answers)
    return not (stream and request.method == "GET")


async def play(
    request: RawRequest,
    route: Route,
    base_urls: Mapping[str, str],
    registry: Registry,
    sent: Mapping[str, RawRequest] | None = None,
    wait: float = WAIT,
) -> Played:
    """Send `request` to every target at once (or each target its own version of it, `sent`:
    its own origin, say) and gather what each answered, and what the registry declares of it."""
    body = read_body(route, request)
    each = sent or dict.fromkeys(base_urls, request)
    names = list(base_urls)
    answers = await asyncio.gather(
        *(exchange(base_urls[name], each[name], wait=wait, read_body=body) for name in names)
    )
    by_target = dict(zip(names, answers, strict=True))
    declared = {
        target: entry.what.requests or ""
        for target, answer in by_target.items()
        if (entry := registry.server_answer(target, each[target], answer.status, answer.body))
    }
    return Played(request, route, by_target, declared)
