"""An upload handler writing `file` to MEDIA_ROOT as it comes; see aiohttp_app/data/uploads.py."""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from asgiref.sync import sync_to_async
from asgiref.typing import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from shared.runtime.data import (
    UPLOAD_BODY_MAX_BYTES,
    UPLOAD_CHUNK_BYTES,
    UPLOAD_FIELD,
    UPLOAD_MAX_BYTES,
    ReceivedFile,
    check_upload_name,
    partial_path,
    stored_path,
    upload_media_type,
    upload_too_large,
)
from shared.runtime.errors import ApiError
from shared.runtime.validation import too_large


def unread_long_bodies(application: ASGI3Application) -> ASGI3Application:
    """Django's ASGI handler reads a request's whole body before any view runs: a body whose
    Content-Length is over UPLOAD_BODY_MAX_BYTES, which no route takes, is handed to it as none,
    and POST /files's view answers 413 (check_upload_length) before the client has sent it, with
    no 100 Continue (uvicorn sends one when the body is first asked for). aiohttp's is
    expect_upload."""

    async def unread(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http" or not any(
            name == b"content-length" and int(value) > UPLOAD_BODY_MAX_BYTES
            for name, value in scope["headers"]
        ):
            return await application(scope, receive, send)
        handed = False
        answering = asyncio.Event()

        async def no_body() -> ASGIReceiveEvent:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # Asked for more before the answer starts (Django listens for a disconnect), uvicorn
            # would send 100 Continue. A body sent all the same is read and dropped.
            await answering.wait()
            while (message := await receive())["type"] == "http.request":
                pass
            return message

        async def answer(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start":
                answering.set()
            await send(message)

        await application(scope, no_body, answer)

    return unread


class StorageUploadHandler(FileUploadHandler):
    """Django's parser hands it the file part chunk by chunk: hash, count, write to disk.

    Django's own handlers keep a small file in memory and a large one in a temporary file that
    is copied again when saved; this one writes once, to where the file will stay.
    """

    chunk_size = UPLOAD_CHUNK_BYTES

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        self.root = Path(settings.MEDIA_ROOT)
        self.received: ReceivedFile | None = None
        self.destination: IO[bytes] | None = None  # not `file`: the parser closes that itself
        self.file_id = uuid.uuid4()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD:
            raise ApiError("invalid_field", field=field_name, problem="is not a known field")
        if self.destination is not None or self.received is not None:
            raise ApiError("invalid_field", field=UPLOAD_FIELD, problem="must be sent once")
        check_upload_name(file_name)
        self.root.mkdir(parents=True, exist_ok=True)
        self.destination = partial_path(self.root, self.file_id).open("xb")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.destination is not None
        self.size += len(raw_data)
        if self.size > UPLOAD_MAX_BYTES:
            raise upload_too_large()
        self.sha256.update(raw_data)
        self.destination.write(raw_data)
        return None  # consumed: no later handler gets this chunk

    def file_complete(self, file_size: int) -> None:
        assert self.destination is not None and self.file_name is not None  # set in new_file
        self.destination.close()
        path = partial_path(self.root, self.file_id).rename(stored_path(self.root, self.file_id))
        self.received = ReceivedFile(
            id=self.file_id,
            name=self.file_name,
            media_type=upload_media_type(self.content_type),
            size=self.size,
            sha256=self.sha256.hexdigest(),
            path=path,
        )
        return None  # the view takes self.received; request.FILES stays empty

    def upload_interrupted(self) -> None:
        # Django's parser calls this when the body ends inside the file part, before a delimiter
        # (a body cut off), and reads it as no file; aiohttp's reader refuses such a body.
        raise MultiPartParserError("the body ends inside the file part")

    def discard(self) -> None:
        """Remove whatever this upload wrote: the partial file and the complete one."""
        if self.destination is not None:
            self.destination.close()
        partial_path(self.root, self.file_id).unlink(missing_ok=True)
        stored_path(self.root, self.file_id).unlink(missing_ok=True)


def receive_upload(request: HttpRequest) -> ReceivedFile:
    """Parse the multipart body (synchronous: run it with sync_to_async); nothing kept on error.

    Under ASGI, Django has received the whole body before any view runs: in memory up to
    FILE_UPLOAD_MAX_MEMORY_SIZE, then in an anonymous temporary file. The parser reads that.
    """
    handler = StorageUploadHandler(request)
    request.upload_handlers = [handler]
    # Media types are case-insensitive (RFC 9110 §8.3.1), but MultiPartParser refuses one that
    # does not start with "multipart/" as written (django/http/multipartparser.py).
    media_type, separator, parameters = request.META["CONTENT_TYPE"].partition(";")
    request.META["CONTENT_TYPE"] = media_type.lower() + separator + parameters
    try:
        try:
            fields = request.POST  # parses the body: form fields here, the file to the handler
        except MultiPartParserError:
            raise ApiError("invalid_multipart") from None
        except RequestDataTooBig:  # the form fields besides the file, over 1 MiB together
            raise too_large() from None
        for name in fields:
            if name == UPLOAD_FIELD:
                raise ApiError("invalid_field", field=name, problem="must be a file")
            raise ApiError("invalid_field", field=name, problem="is not a known field")
        if handler.received is None:
            raise ApiError("invalid_field", field=UPLOAD_FIELD, problem="is required")
        return handler.received
    except BaseException:
        handler.discard()
        raise


async def read_chunks(path: Path) -> AsyncIterator[bytes]:
    """The file, chunk by chunk, each read in a thread: an async iterator for ASGI.

    FileResponse(open(path, "rb")) would be simpler, but under ASGI Django reads a synchronous
    iterator whole, into a list in memory, before it sends the first byte.
    """
    with await sync_to_async(lambda: path.open("rb"))() as source:
        while chunk := await sync_to_async(source.read)(UPLOAD_CHUNK_BYTES):
            yield chunk
