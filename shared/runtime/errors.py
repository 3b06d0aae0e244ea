"""The shared error shape, {"error": {"code", "message"}}, raised as ApiError by both apps."""

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import msgspec

CATALOGUE_PATH = Path(__file__).with_name("errors.toml")


class ErrorDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of the error catalogue: the status it is sent with, its message, and the
    headers its status requires (426's Upgrade)."""

    status: int
    message: str
    headers: Mapping[str, str] = {}
    code: str = ""  # the entry's key in the catalogue

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise msgspec.ValidationError("an error status is from 400 to 599 - at `$.status`")

    def render(self, **params: object) -> dict[str, dict[str, str]]:
        """The JSON error body both apps send: {"error": {"code", "message"}}."""
        return {"error": {"code": self.code, "message": self.message.format(**params)}}


def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, ErrorDef]:
    """The catalogue in `path`, each entry knowing its code; errors name the file and entry."""
    entries = msgspec.toml.decode(path.read_bytes())
    found: dict[str, ErrorDef] = {}
    for code, entry in entries.items():
        try:  # one entry at a time: msgspec's path into a dict does not name the key
            found[code] = msgspec.structs.replace(msgspec.convert(entry, ErrorDef), code=code)
        except msgspec.ValidationError as error:
            raise ValueError(f"{path}: [{code}]: {error}") from None
    return found


@cache
def catalogue() -> Mapping[str, ErrorDef]:
    """The project's error catalogue (errors.toml beside this file), read once."""
    return load_catalogue()


class ApiError(Exception):
    """An error a client caused (or a 5xx): each app's error middleware turns it into JSON."""

    def __init__(
        self, code: str, *, headers: Mapping[str, str] | None = None, **params: object
    ) -> None:
        """`headers`: those of this answer only (a 429's Retry-After), beside the catalogue's."""
        entry = catalogue()[code]
        self.code = code
        self.status = entry.status
        self.headers: Mapping[str, str] = {**entry.headers, **(headers or {})}
        self.body = entry.render(**params)
        super().__init__(self.body["error"]["message"])


def error_body(code: str, **params: object) -> dict[str, dict[str, str]]:
    """The JSON body for a catalogue code, for errors a framework raises itself (404, 405, 500)."""
    return catalogue()[code].render(**params)
