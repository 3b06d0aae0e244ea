"""Input rules both apps apply, so that a bad request gets the same 4xx from each."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import ApiError

DELAY_MAX_SECONDS = 10.0
WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
WS_PING_INTERVAL = 20.0  # seconds: an idle websocket is pinged this often...
WS_PING_TIMEOUT = 20.0  # ...and its peer dropped when no pong comes back in this time
JSON_BODY_MAX_BYTES = 1024 * 1024
JSON_BODY_LIMIT_TEXT = "1 MiB"
JSON_MEDIA_TYPE = "application/json"


def parse_seconds(raw: str | None, name: str = "seconds") -> float:
    """A finite number of seconds from 0 to DELAY_MAX_SECONDS, from a query parameter."""
    expected = f"a number from 0 to {DELAY_MAX_SECONDS:g}"
    if raw is None:
        raise ApiError("missing_parameter", name=name)
    try:
        seconds = float(raw)
    except ValueError:
        raise ApiError("invalid_parameter", name=name, expected=expected) from None
    if not (math.isfinite(seconds) and 0 <= seconds <= DELAY_MAX_SECONDS):
        raise ApiError("invalid_parameter", name=name, expected=expected)
    return seconds


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
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is not bool and isinstance(value, bool)):
            raise ApiError("invalid_field", field=name, problem=f"must be {_KIND_NAMES[self.kind]}")
        if isinstance(value, str) and not (
            (self.min_length or 0) <= len(value) <= (self.max_length or math.inf)
        ):
            problem = f"must be {self.min_length or 0} to {self.max_length} characters long"
            raise ApiError("invalid_field", field=name, problem=problem)
        if isinstance(value, int | float) and not isinstance(value, bool):
            low = -math.inf if self.minimum is None else self.minimum
            high = math.inf if self.maximum is None else self.maximum
            if not (math.isfinite(value) and low <= value <= high):
                problem = f"must be a number from {low:g} to {high:g}"
                raise ApiError("invalid_field", field=name, problem=problem)
        return value


_KIND_NAMES: Mapping[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def check_json_content_type(content_type: str) -> None:
    """415 unless the request says its body is JSON (the media type, parameters aside)."""
    if content_type.split(";", 1)[0].strip().lower() != JSON_MEDIA_TYPE:
        raise ApiError("unsupported_media_type", expected=JSON_MEDIA_TYPE)


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
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise ApiError("invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError("not_an_object")
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
