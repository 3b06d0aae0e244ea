"""The shared error shape, {"error": {"code", "message"}}, raised as ApiError by both apps."""

import tomllib
from collections.abc import Mapping
from functools import cache

from shared.spec import SPEC_PATH, ErrorDef, _errors


@cache
def catalogue() -> Mapping[str, ErrorDef]:
    """The `[errors]` table of spec.toml: every code with its status and message."""
    return _errors(SPEC_PATH, tomllib.loads(SPEC_PATH.read_text(encoding="utf-8")))


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
