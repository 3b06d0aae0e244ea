"""The shared error shape, {"error": {"code", "message"}}, raised as ApiError by both apps."""

from collections.abc import Mapping
from functools import cache

from shared.spec import ErrorDef, load_errors


@cache
def catalogue() -> Mapping[str, ErrorDef]:
    """The `[errors]` tables of the spec: every code with its status and message."""
    return load_errors()


class ApiError(Exception):
    """An error a client caused (or a 5xx): each app's error middleware turns it into JSON."""

    def __init__(self, code: str, **params: object) -> None:
        entry = catalogue()[code]
        self.code = code
        self.status = entry.status
        self.body = entry.render(**params)
        super().__init__(self.body["error"]["message"])


def error_body(code: str, **params: object) -> dict[str, dict[str, str]]:
    """The JSON body for a catalogue code, for errors a framework raises itself (404, 405, 500)."""
    return catalogue()[code].render(**params)
