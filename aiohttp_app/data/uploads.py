"""Streaming the `file` part to FILES_DIR as it arrives; django_app/data/uploads.py mirrors it."""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.web_urldispatcher import _default_expect_handler

from aiohttp_app.settings import settings
from shared.runtime.data import (
    UPLOAD_BODY_MAX_BYTES,
    UPLOAD_CHUNK_BYTES,
    UPLOAD_FIELD,
    UPLOAD_MAX_BYTES,
    ReceivedFile,
    check_upload_name,
    form_disposition,
    partial_path,
    stored_path,
    upload_media_type,
    upload_name,
    upload_too_large,
)
from shared.runtime.errors import ApiError
from shared.runtime.validation import JSON_BODY_MAX_BYTES, too_large


async def expect_upload(request: web.Request) -> None:
    """POST /files's answer to `Expect: 100-continue`: aiohttp's own (100 Continue) to an upload
    within the limit; none to a longer one, whose 413 the view then sends before the body comes
    (check_upload_length). Django's is unread_long_bodies."""
    if request.content_length is None or request.content_length <= UPLOAD_BODY_MAX_BYTES:
        await _default_expect_handler(request)


async def write_part(part: BodyPartReader, root: Path, name: str) -> ReceivedFile:
    """Read the part chunk by chunk: hash, count, write to disk; stop at UPLOAD_MAX_BYTES."""
    file_id = uuid.uuid4()
    sha256 = hashlib.sha256()
    size = 0
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    destination = await asyncio.to_thread(partial_path(root, file_id).open, "xb")
    try:
        while chunk := await part.read_chunk(UPLOAD_CHUNK_BYTES):
            size += len(chunk)
            if size > UPLOAD_MAX_BYTES:
                raise upload_too_large()  # the rest of the body is never read
            sha256.update(chunk)
            await asyncio.to_thread(destination.write, chunk)
    except BaseException:
        destination.close()
        partial_path(root, file_id).unlink(missing_ok=True)
        raise
    destination.close()
    path = partial_path(root, file_id).rename(stored_path(root, file_id))
    return ReceivedFile(
        id=file_id,
        name=name,
        media_type=upload_media_type(part.headers.get("Content-Type")),
        size=size,
        sha256=sha256.hexdigest(),
        path=path,
    )


async def drain(part: BodyPartReader) -> int:
    """Read a part to its end without keeping it; its size."""
    size = 0
    while chunk := await part.read_chunk(UPLOAD_CHUNK_BYTES):
        size += len(chunk)
    return size


async def form_parts(request: web.Request) -> AsyncIterator[BodyPartReader]:
    """The body's parts, as Django's parser finds them: none in a body without a delimiter line
    (empty, or all preamble, which RFC 2046 §5.1.1 says to ignore), where aiohttp's reader
    raises ValueError before the first part."""
    reader = await request.multipart()
    try:
        part = await reader.next()
    except ValueError:
        return
    # aiohttp's reader takes a first part `_charset_` (RFC 7578 §4.6) for itself, and raises
    # one of these for it when it is over 31 bytes or the boundary over 28 characters.
    except (RuntimeError, AssertionError):
        raise ApiError("invalid_multipart") from None
    while part is not None:
        if not isinstance(part, BodyPartReader):  # a nested multipart/mixed
            raise ApiError("invalid_multipart")
        yield part
        part = await reader.next()


async def receive_upload(request: web.Request) -> ReceivedFile:
    """Read the multipart body part by part, as Django's parser does; nothing kept on error.

    aiohttp reads the body from the socket only as this loop asks for it: an upload over the
    limit is refused before the rest of it has arrived.
    """
    root = request.app[settings].files_dir
    received: ReceivedFile | None = None
    fields: list[str] = []
    field_bytes = 0
    try:
        try:
            async for part in form_parts(request):
                disposition = form_disposition(part.headers.getall(hdrs.CONTENT_DISPOSITION, []))
                if disposition is None:  # no Content-Disposition Django reads, or no name
                    await drain(part)
                    continue
                if not disposition.filename:  # a form field, as Django's request.POST holds
                    fields.append(disposition.name)
                    field_bytes += await drain(part)
                    if field_bytes > JSON_BODY_MAX_BYTES:  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
                        raise too_large()
                    continue
                name = upload_name(disposition.filename)
                if name is None:  # Django skips a file whose name is empty, "." or ".."
                    await drain(part)
                    continue
                if disposition.name != UPLOAD_FIELD:
                    problem = "is not a known field"
                    raise ApiError("invalid_field", field=disposition.name, problem=problem)
                if received is not None:
                    raise ApiError("invalid_field", field=UPLOAD_FIELD, problem="must be sent once")
                received = await write_part(part, root, check_upload_name(name))
        # No boundary, a part cut off before its delimiter, a malformed part, a header too long.
        except (ValueError, BadHttpMessage):
            raise ApiError("invalid_multipart") from None
        for field in fields:
            if field == UPLOAD_FIELD:
                raise ApiError("invalid_field", field=field, problem="must be a file")
            raise ApiError("invalid_field", field=field, problem="is not a known field")
        if received is None:
            raise ApiError("invalid_field", field=UPLOAD_FIELD, problem="is required")
        return received
    except BaseException:
        if received is not None:
            received.discard()
        raise


def content_disposition(name: str) -> str:
    """`attachment` and the name, as Django's content_disposition_header() writes it (RFC 6266)."""
    if name.isascii():
        return 'attachment; filename="{}"'.format(name.replace("\\", "\\\\").replace('"', r"\""))
    return f"attachment; filename*=utf-8''{quote(name)}"
