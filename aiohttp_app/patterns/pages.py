"""An HTML page rendered from the database: aiohttp-jinja2, its template rendered asynchronously."""

import html

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select

from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from shared.runtime.patterns import (
    PAGE_ITEMS_MAX,
    PAGE_TEMPLATE,
    TEMPLATES_DIR,
    parse_page_filter,
)


def escape_as_django(value: object) -> object:
    """Text escaped as Django's templates escape it (html.escape: `&quot;`, `&#x27;`), where
    markupsafe writes `&#34;` and `&#39;`: the same page, byte for byte, from both apps."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(html.escape(value))
    return value


def setup_templates(app: web.Application) -> None:
    # enable_async: the template awaits what it iterates, so rows can stream into it.
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        enable_async=True,
        finalize=escape_as_django,
        keep_trailing_newline=True,  # as Django's engine keeps it
        default_helpers=False,
    )


async def items_page(request: web.Request) -> web.Response:
    text = parse_page_filter(request.query.getall("q", []))
    query = (
        select(Item)
        .where(Item.name.contains(text, autoescape=True))
        .order_by(Item.name, Item.id)
        .limit(PAGE_ITEMS_MAX)
    )
    async with request.app[sessions]() as session:
        # An async iterator of rows, which the async template consumes with `{% for %}` while
        # the session is open: nothing has to be read into a list first.
        items = await session.stream_scalars(query)
        return await aiohttp_jinja2.render_template_async(PAGE_TEMPLATE, request, {"items": items})
