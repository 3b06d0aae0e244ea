"""Reading a JSON object body, checked by shared/runtime/validation.py; mirrored by Django's."""

from collections.abc import Mapping
from typing import Any

from aiohttp import hdrs, web

from aiohttp_app.params import header
from shared.runtime.validation import (
    Field,
    check_content_encoding,
    check_json_content_type,
    parse_json_object,
    too_large,
)


async def read_json(
    request: web.Request, fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """415 unless plain JSON, 413 over the app's client_max_size, 400 naming the field."""
    check_json_content_type(header(request, hdrs.CONTENT_TYPE))
    check_content_encoding(header(request, hdrs.CONTENT_ENCODING))
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    return parse_json_object(body, fields, partial=partial)
