"""What each spec case sends and expects, step by step, with long bodies cut short."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from shared.spec import (
    SEND_STEPS,
    Case,
    FormPart,
    HttpCase,
    HttpExpect,
    HttpRequest,
    HttpStep,
    Payload,
    Spec,
    WsCase,
    WsStep,
    header_pairs,
)

PREVIEW_CHARS = 200  # a longer body shows this many characters, then how long it is in all
WS_LABELS = {"text": "text", "bytes": "bytes", "json": "JSON", "json_subset": "JSON containing"}


@dataclass(frozen=True)
class Fragment:
    """One thing sent or expected: a word of prose (may be empty) and the code it is about."""

    label: str
    code: str = ""

    def text(self) -> str:
        return f"{self.label} {self.code}".strip() if self.code else self.label


@dataclass(frozen=True)
class StepView:
    """One step of a case: what is sent, and what must come back."""

    request: tuple[Fragment, ...]
    expect: tuple[Fragment, ...]


def preview(text: str, size: int | None = None) -> str:
    """The text, or its first PREVIEW_CHARS characters and `… (N bytes in all)`."""
    if len(text) <= PREVIEW_CHARS:
        return text
    total = len(text.encode()) if size is None else size
    return f"{text[:PREVIEW_CHARS]}… ({total} bytes in all)"


def byte_count(size: int) -> str:
    return "1 byte" if size == 1 else f"{size} bytes"


def body_text(text: str, size: int) -> str:
    """A body as sent, or as a JSON string when spaces at its ends or control characters hide."""
    if text.strip() != text or not text.isprintable():
        return preview(json.dumps(text, ensure_ascii=False), size)
    return preview(text, size)


def as_json(value: object) -> str:
    return preview(json.dumps(value, ensure_ascii=False))


def payload(value: Payload) -> str:
    """Text as a JSON string, bytes in hex, random bytes by size and seed: all cut short."""
    if value.text is not None:
        return preview(json.dumps(value.text, ensure_ascii=False), len(value.text.encode()))
    if value.data is not None:
        if not value.data:
            return "(0 bytes)"
        return f"{preview(value.data.hex(), len(value.data))} ({byte_count(len(value.data))}, hex)"
    if value.size:
        return f"{value.size} random bytes (seed {value.seed})"
    return as_json(value.json)


def form_part(part: FormPart) -> Fragment:
    """`file: filename "a.txt", text/plain, "hello" (5 bytes)`, or `name = "value"` for a field."""
    if part.content is None:
        return Fragment("field", f"{part.name} = {preview(json.dumps(part.value))}")
    details = [f"filename {json.dumps(part.filename, ensure_ascii=False)}"] if part.filename else []
    if part.content_type:
        details.append(part.content_type)
    details.append(payload(part.content))
    if part.content.text is not None:
        details[-1] += f" ({byte_count(len(part.content.text.encode()))})"
    return Fragment("file part", f"{part.name}: {', '.join(details)}")


def request_fragments(request: HttpRequest) -> list[Fragment]:
    query = f"?{urlencode(dict(request.query), safe='{}')}" if request.query else ""
    found = [Fragment("", f"{request.method} {request.path}{query}")]
    found += [Fragment("", f"{name}: {value}") for name, value in header_pairs(request.headers)]
    if request.body is not None:
        found.append(Fragment("body", body_text(request.body.decode(), len(request.body))))
    if request.json is not None:
        found.append(Fragment("JSON", as_json(request.json)))
    found += [form_part(part) for part in request.multipart]
    return found


def expect_fragments(expect: HttpExpect, spec: Spec) -> list[Fragment]:
    found = [Fragment("status", str(expect.status))]
    if expect.text is not None:
        found.append(Fragment("text", preview(json.dumps(expect.text, ensure_ascii=False))))
    if expect.json is not None:
        found.append(Fragment("JSON", as_json(expect.json)))
    if expect.json_subset is not None:
        found.append(Fragment("JSON containing", as_json(expect.json_subset)))
    if expect.regex is not None:
        found.append(Fragment("body matching", preview(expect.regex)))
    if expect.error is not None:
        found.append(Fragment("error", as_json(spec.error_body(expect.error))))
    if expect.content is not None:
        found.append(Fragment("bytes", payload(expect.content)))
    found += [Fragment("JSON key matching", f"{k}: {v}") for k, v in expect.json_patterns.items()]
    found += [Fragment("", f"{name}: {value}") for name, value in expect.headers.items()]
    found += [
        Fragment("header matching", f"{name}: {pattern}")
        for name, pattern in expect.header_patterns.items()
    ]
    return found


def http_step(step: HttpStep, spec: Spec) -> StepView:
    request = request_fragments(step.request)
    if step.concurrency > 1:
        request.append(Fragment(f"sent {step.concurrency} times at once"))
    expect = expect_fragments(step.expect, spec)
    if step.elapsed is not None:
        bounds = f"≥ {step.elapsed.min:g} s"
        if step.elapsed.max is not None:
            bounds += f" and ≤ {step.elapsed.max:g} s"
        expect.append(Fragment(f"all within {bounds}"))
    expect += [Fragment("saves", f"{{{name}}} = {key}") for name, key in step.save.items()]
    return StepView(tuple(request), tuple(expect))


def ws_fragment(step: WsStep, spec: Spec) -> Fragment:
    if step.payload is not None:
        return Fragment(WS_LABELS[step.kind.partition("_")[2]], payload(step.payload))
    if step.error is not None:
        return Fragment("error frame", as_json(spec.error_body(step.error)))
    return Fragment("close", str(step.code))


def ws_handshake(case: WsCase, spec: Spec) -> StepView:
    """The handshake: the path and the headers sent (or left out), and its answer."""
    request = [Fragment("", f"WS {case.path}")]
    request += [Fragment("", f"{name}: {value}") for name, value in header_pairs(case.headers)]
    request += [Fragment("no header", name) for name in sorted(case.omit_headers)]
    refusal = case.steps[0].refusal
    expect = expect_fragments(refusal, spec) if refusal else [Fragment("status", "101")]
    return StepView(tuple(request), tuple(expect))


def case_steps(case: Case, spec: Spec) -> list[StepView]:
    """Every step of a case in order. A websocket case starts with its handshake; each send (or
    close) is a step, with the frames expected after it."""
    if isinstance(case, HttpCase):
        return [http_step(step, spec) for step in case.steps]
    steps = [ws_handshake(case, spec)]
    for step in case.steps:
        if step.refusal is not None:
            continue
        fragment = ws_fragment(step, spec)
        if step.kind in SEND_STEPS or step.kind == "close":
            steps.append(StepView((fragment,), ()))
        else:
            steps[-1] = StepView(steps[-1].request, (*steps[-1].expect, fragment))
    return steps
