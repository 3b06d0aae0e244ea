"""Reading a JSON object body, checked by shared/runtime/validation.py; mirrored by aiohttp's."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from django_app.params import header
from shared.runtime.validation import (
    Field,
    check_content_encoding,
    check_json_content_type,
    parse_json_object,
    too_large,
)


async def read_json(
    request: HttpRequest, fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """415 unless plain JSON, 413 over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 naming the field."""
    check_json_content_type(header(request, "Content-Type"))
    check_content_encoding(header(request, "Content-Encoding"))
    try:
        # Django's ASGI handler received the whole body before the view ran: no await here.
        body = request.body
    except RequestDataTooBig:
        raise too_large() from None
    return parse_json_object(body, fields, partial=partial)
