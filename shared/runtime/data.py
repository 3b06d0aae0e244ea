"""Rules and formats of part 2, data, that both apps apply, so that they answer alike."""

from __future__ import annotations

import codecs
import html
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import cast
from uuid import UUID

from shared.runtime.errors import ApiError
from shared.runtime.validation import Field, given_once, media_type

# Path parameters: the route patterns both apps use, so that anything else is a 404 in both.
# An id has at most 18 digits, so it always fits a 64-bit integer column.
ID_PATTERN = "[0-9]{1,18}"
UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

ITEM_FIELDS = {
    "name": Field(str, min_length=1, max_length=100),
    "note": Field(str, required=False, max_length=1000),
}
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
PAGE_OFFSET_MAX = 1_000_000_000
SEARCH_RESULTS_MAX = 100

COUNTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
COUNTER_NAME_RULE = "1 to 64 letters, digits, '-' or '_'"
# The racy increment's read and write are this far apart, as if it awaited other work between.
RACE_WINDOW_SECONDS = 0.02

# PostgreSQL: the most connections one pool of a server process opens (DATABASE_POOL_SIZE), and
# the longest a request waits for one, or for PostgreSQL to accept one, before it fails with a
# 500: with the database down, no request waits longer (psycopg's pool would wait 30 s, asyncpg's
# connect 60 s).
DATABASE_POOL_SIZE = 15
DATABASE_WAIT_SECONDS = 10

UPLOAD_FIELD = "file"
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_LIMIT_TEXT = "10 MiB"
UPLOAD_NAME_MAX = 255
UPLOAD_CHUNK_BYTES = 64 * 1024
# The longest body an upload the apps take can be: the file, its part's headers (a
# Content-Disposition of at most DISPOSITION_MAX_CHARS) and the delimiters. A Content-Length over
# it is refused before a byte of the body is read (check_upload_length).
UPLOAD_BODY_MAX_BYTES = UPLOAD_MAX_BYTES + 64 * 1024
DISPOSITION_MAX_CHARS = 10_000  # Django's MAX_HEADER_LENGTH for a header with parameters
MULTIPART_MEDIA_TYPE = "multipart/form-data"
DEFAULT_MEDIA_TYPE = "application/octet-stream"
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def whole_number(values: Sequence[str], name: str, low: int, high: int, default: int) -> int:
    """One query parameter as an integer from low to high; ASCII digits only, given once."""
    expected = f"a whole number from {low} to {high}"
    value = given_once(values, name)
    if value is None:
        return default
    digits = value.lstrip("0") or "0"  # no more digits than `high`: int() of thousands fails
    if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(high))):
        raise ApiError("invalid_parameter", name=name, expected=expected)
    if not low <= int(digits) <= high:
        raise ApiError("invalid_parameter", name=name, expected=expected)
    return int(digits)


def parse_page(limits: Sequence[str], offsets: Sequence[str]) -> Page:
    """`?limit=L&offset=O` from every value of each (aiohttp's getall, Django's getlist)."""
    return Page(
        limit=whole_number(limits, "limit", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT),
        offset=whole_number(offsets, "offset", 0, PAGE_OFFSET_MAX, 0),
    )


def parse_search_name(values: Sequence[str]) -> str:
    """`?name=N` for the search: required, given once, a valid item name."""
    name = given_once(values, "name")
    if name is None:
        raise ApiError("missing_parameter", name="name")
    if not 1 <= len(name) <= 100 or "\x00" in name:
        raise ApiError("invalid_parameter", name="name", expected="1 to 100 characters")
    return name


def check_counter_name(name: str) -> str:
    """A counter's name from the path: COUNTER_NAME, else 400 naming the rule."""
    if not COUNTER_NAME.fullmatch(name):
        raise ApiError("invalid_path_parameter", name="name", expected=COUNTER_NAME_RULE)
    return name


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds: 2026-01-02T03:04:05.678901Z.

    A naive datetime is taken as UTC: SQLite keeps no time zone, and both apps store UTC.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def check_media_type(content_type: str | None, expected: str) -> None:
    """415 unless the request's media type (parameters aside) is `expected`; None is none."""
    if media_type(content_type) != expected:
        raise ApiError("unsupported_media_type", expected=expected)


def upload_media_type(content_type: str | None) -> str:
    """The media type a part declared, lowercased and without parameters, if it is well formed."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type if _MEDIA_TYPE.fullmatch(media_type) else DEFAULT_MEDIA_TYPE


type RFC2231Value = str | tuple[str | None, str | None, str]  # a parameter's, decoded or not


@dataclass(frozen=True)
class Disposition:
    """What a multipart part's Content-Disposition says: its field, and a file's name."""

    name: str
    filename: str | None  # None, or "": a plain form field


def form_disposition(values: Sequence[str]) -> Disposition | None:
    """A part's Content-Disposition (every value given, in order) read as Django's
    MultiPartParser reads it, which no upload handler can change: the last value; its parameters
    by the standard library's email parser, RFC 2231 values decoded, so that filename* wins over
    filename wherever each stands (RFC 6266 §4.3) and a repeated parameter counts by its last
    value. None for a part Django skips: no such header, one it cannot read (too long, without
    parameters, an RFC 2231 charset Python does not know), or one without a name.
    aiohttp's own parser refuses a repeated parameter and an RFC 2231 value without its
    charset, and ignores an unknown charset: aiohttp_app calls this to agree.
    """
    if not values or len(values[-1]) > DISPOSITION_MAX_CHARS or ";" not in values[-1]:
        return None
    header = Message()
    header["content-disposition"] = values[-1]
    # typeshed types every value as a str; an RFC 2231 one is (charset, language, value).
    found = cast(list[tuple[str, RFC2231Value]], header.get_params([], "content-disposition"))
    params: dict[str, str] = {}
    for name, value in found[1:]:
        if isinstance(value, tuple):
            try:
                codecs.lookup(value[0] or "us-ascii")
            except LookupError:
                return None
            value = collapse_rfc2231_value(value)
        params[name] = value
    if "name" not in params:
        return None
    return Disposition(params["name"].strip(string.whitespace), params.get("filename"))


def upload_name(raw: str) -> str | None:
    """The name to keep for an uploaded file, or None: what Django's MultiPartParser keeps.

    Django's sanitize_file_name() unescapes HTML entities, drops every path segment (either
    separator) and the non-printable characters, and refuses "", "." and "..". aiohttp hands
    over the raw filename, so aiohttp_app calls this to agree. The name is only ever shown,
    never used as a path: a stored file is named by its id.
    """
    name = html.unescape(raw).rsplit("/")[-1].rsplit("\\")[-1]
    name = "".join(char for char in name if char.isprintable())
    if name in {"", ".", ".."}:
        return None
    return name


def check_upload_name(name: str) -> str:
    """400 if the kept name is too long to store."""
    if len(name) > UPLOAD_NAME_MAX:
        problem = f"needs a filename of at most {UPLOAD_NAME_MAX} characters"
        raise ApiError("invalid_field", field=UPLOAD_FIELD, problem=problem)
    return name


def upload_too_large() -> ApiError:
    """The 413 both apps send when the file is over UPLOAD_MAX_BYTES."""
    return ApiError("payload_too_large", limit=UPLOAD_LIMIT_TEXT)


def check_upload_length(content_length: int | None) -> None:
    """413 for an upload whose Content-Length is over UPLOAD_BODY_MAX_BYTES, before its body is
    read; a body without one (chunked) is counted as it arrives."""
    if content_length is not None and content_length > UPLOAD_BODY_MAX_BYTES:
        raise upload_too_large()


@dataclass(frozen=True)
class ReceivedFile:
    """An upload written to the storage folder, before its row is saved."""

    id: UUID
    name: str
    media_type: str
    size: int
    sha256: str
    path: Path

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stored_path(root: Path, file_id: UUID) -> Path:
    """Where a file lives: named by its id, never by anything the client sent."""
    return root / str(file_id)


def partial_path(root: Path, file_id: UUID) -> Path:
    """Where a file is written while it arrives; renamed to stored_path() once complete."""
    return root / f"{file_id}.part"
