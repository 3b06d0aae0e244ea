"""Input rules both apps apply, so that a bad request gets the same 400 from each."""

import math

from shared.errors import ApiError

DELAY_MAX_SECONDS = 10.0
WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


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
