"""Input rules both apps apply, so that a bad request gets the same 4xx from each."""

from __future__ import annotations

import email.policy
import json
import math
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.runtime.errors import ApiError

DELAY_MAX_SECONDS = 10.0
WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
WS_PING_INTERVAL = 20.0  # seconds: an idle websocket is pinged this often...
WS_PING_TIMEOUT = 20.0  # ...and its peer dropped when no pong comes back in this time
JSON_BODY_MAX_BYTES = 1024 * 1024
JSON_BODY_LIMIT_TEXT = "1 MiB"
JSON_MEDIA_TYPE = "application/json"
# A request's body keeps coming at BODY_MIN_BYTES_PER_SECOND on average once BODY_GRACE_SECONDS
# have passed since its head, or it is answered 408 and its connection closed (ASP.NET Core's
# Kestrel has the same rule and these defaults, MinRequestBodyDataRate): aiohttp, uvicorn and
# hypercorn have no timeout for a body, and a client sending a byte a second holds it for ever.
BODY_GRACE_SECONDS = 5.0
BODY_MIN_BYTES_PER_SECOND = 240.0
CHAT_ROOM_PATTERN = re.compile(r"[a-z0-9-]{1,50}")
CHAT_MESSAGE_MAX_CHARS = 4096
CHAT_WS_MAX_MESSAGE_BYTES = 64 * 1024  # a bigger websocket message closes a chat with 1009
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")  # X-Request-ID from a client


def given_once(values: Sequence[str], name: str, default: str | None = None) -> str | None:
    """A query parameter's value (from aiohttp's getall, Django's getlist): 400 if repeated.

    aiohttp's get() takes the first of repeated values and Django's the last: neither is used.
    """
    if len(values) > 1:
        raise ApiError("invalid_parameter", name=name, expected="given once")
    return values[0] if values else default


def parse_seconds(
    raw: str | None, name: str = "seconds", maximum: float = DELAY_MAX_SECONDS
) -> float:
    """A finite number of seconds from 0 to `maximum`, from a query parameter."""
    expected = f"a number from 0 to {maximum:g}"
    if raw is None:
        raise ApiError("missing_parameter", name=name)
    try:
        seconds = float(raw)
    except ValueError:
        raise ApiError("invalid_parameter", name=name, expected=expected) from None
    if not (math.isfinite(seconds) and 0 <= seconds <= maximum):
        raise ApiError("invalid_parameter", name=name, expected=expected)
    return seconds


def parse_int(raw: str | None, name: str, low: int, high: int | None = None) -> int:
    """An integer from `low` to `high` (or up), from a query parameter: ASCII digits only."""
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    if raw is None:
        raise ApiError("missing_parameter", name=name)
    # At most 18 digits: int() of a huge string is slow, and no limit here needs more.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise ApiError("invalid_parameter", name=name, expected=expected)
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ApiError("invalid_parameter", name=name, expected=expected)
    return value


def parse_request_id(raw: str | None) -> str:
    """The client's X-Request-ID if it is 1 to 64 of [A-Za-z0-9._-], else a new one: 32 random
    hex digits, as uuid4().hex looks, for a third of its time (a microsecond or two a request)."""
    if raw is not None and REQUEST_ID_PATTERN.fullmatch(raw):
        return raw
    return secrets.token_hex(16)


def ws_ping_settings(env: Mapping[str, str] = os.environ) -> tuple[float, float]:
    """(interval, timeout) of websocket pings: WS_PING_INTERVAL and WS_PING_TIMEOUT, or defaults."""
    return (
        float(env.get("WS_PING_INTERVAL", WS_PING_INTERVAL)),
        float(env.get("WS_PING_TIMEOUT", WS_PING_TIMEOUT)),
    )


@dataclass(frozen=True)
class Field:
    """One field of a JSON object body: its type, whether it is required, and its bounds."""

    kind: type[str] | type[int] | type[float] | type[bool]
    required: bool = True
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None

    def check(self, name: str, value: object) -> object:
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            # An integer past float's range (1e309 written out) is out of every bound here.
            value = float(value) if abs(value) <= sys.float_info.max else math.inf
        if not isinstance(value, self.kind) or (self.kind is not bool and isinstance(value, bool)):
            raise ApiError("invalid_field", field=name, problem=f"must be {_KIND_NAMES[self.kind]}")
        if isinstance(value, str) and not (
            (self.min_length or 0) <= len(value) <= (self.max_length or math.inf)
        ):
            problem = f"must be {self.min_length or 0} to {self.max_length} characters long"
            raise ApiError("invalid_field", field=name, problem=problem)
        # JSON allows both, but PostgreSQL refuses NUL in text and no driver encodes a lone
        # surrogate ("\ud800") as UTF-8: refused here, they cannot become a 500 later.
        if isinstance(value, str) and ("\x00" in value or not _is_utf8_encodable(value)):
            problem = "must be valid text (no NUL, no lone surrogate)"
            raise ApiError("invalid_field", field=name, problem=problem)
        if isinstance(value, int | float) and not isinstance(value, bool):
            low = -math.inf if self.minimum is None else self.minimum
            high = math.inf if self.maximum is None else self.maximum
            if not (math.isfinite(value) and low <= value <= high):
                problem = f"must be a number from {low:g} to {high:g}"
                raise ApiError("invalid_field", field=name, problem=problem)
        return value


def _is_utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_KIND_NAMES: Mapping[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def media_type(content_type: str | None) -> str | None:
    """The media type a Content-Type value names, lower-cased, its parameters aside; None for
    none, or for a value that is not one media type (RFC 9110 §8.3.1), such as a repeated
    Content-Type joined with ",". The standard library's email parser reads it (RFC 2045)."""
    if not content_type:
        return None
    parsed = email.policy.default.header_factory("content-type", content_type)
    return None if parsed.defects else str(parsed.content_type)


def check_json_content_type(content_type: str | None) -> None:
    """415 unless the request says its body is JSON (the media type, parameters aside)."""
    if media_type(content_type) != JSON_MEDIA_TYPE:
        raise ApiError("unsupported_media_type", expected=JSON_MEDIA_TYPE)


def check_content_encoding(content_encoding: str | None) -> None:
    """415 unless the body comes as it is: neither app decodes a request's Content-Encoding."""
    if (content_encoding or "identity").strip().lower() != "identity":
        raise ApiError("unsupported_content_encoding")


def body_due(received: int) -> float:
    """Seconds after a request's head by which its body, `received` bytes of it so far, must
    have sent more or be whole (BODY_MIN_BYTES_PER_SECOND after BODY_GRACE_SECONDS)."""
    return BODY_GRACE_SECONDS + received / BODY_MIN_BYTES_PER_SECOND


def too_large() -> ApiError:
    """The 413 both apps send when a JSON body is over JSON_BODY_MAX_BYTES."""
    return ApiError("payload_too_large", limit=JSON_BODY_LIMIT_TEXT)


def parse_json_object(
    body: bytes, fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """The body as a checked JSON object: only known fields, each of the right type and size.

    `partial` (for PATCH) makes every field optional but still checks the ones given.
    """
    try:
        data = json.loads(body)
    # JSONDecodeError and UnicodeDecodeError alike; RecursionError: nested past the parser's depth.
    except (ValueError, RecursionError):
        raise ApiError("invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError("not_an_object")
    return check_fields(data, fields, partial=partial)


def check_fields(
    data: Mapping[str, Any], fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """Only known fields, each of the right type and size; required ones unless `partial`."""
    for name in data:
        if name not in fields:
            raise ApiError("invalid_field", field=name, problem="is not a known field")
    checked: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            checked[name] = field.check(name, data[name])
        elif field.required and not partial:
            raise ApiError("invalid_field", field=name, problem="is required")
    return checked


CHAT_MESSAGE_FIELDS: Mapping[str, Field] = {
    "message": Field(str, min_length=1, max_length=CHAT_MESSAGE_MAX_CHARS)
}


def check_room(room: str) -> None:
    """403 unless the room name is 1 to 50 characters from a-z, 0-9 and '-'."""
    if not CHAT_ROOM_PATTERN.fullmatch(room):
        raise ApiError("invalid_room")


def chat_message_too_big(data: str | bytes) -> bool:
    """Over CHAT_WS_MAX_MESSAGE_BYTES (text counted as UTF-8): the chat is closed with 1009."""
    return len(data.encode() if isinstance(data, str) else data) > CHAT_WS_MAX_MESSAGE_BYTES


def parse_chat_message(data: str | bytes) -> str:
    """The text of a chat message, a websocket text message `{"message": "1 to 4096 chars"}`."""
    if isinstance(data, bytes):
        raise ApiError("message_not_text")
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):  # as parse_json_object
        raise ApiError("message_not_json") from None
    if not isinstance(message, dict):
        raise ApiError("message_not_an_object")
    return str(check_fields(message, CHAT_MESSAGE_FIELDS)["message"])
