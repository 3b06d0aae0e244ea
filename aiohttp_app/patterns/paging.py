"""Pages of items by number, counted by hand: the answers of Django's AsyncPaginator."""

from aiohttp import web
from sqlalchemy import func, select

from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from aiohttp_app.settings import dumps
from shared.runtime.patterns import page_count, parse_per_page


async def items_pages(request: web.Request) -> web.Response:
    per_page = parse_per_page(request.query.getall("per_page", []))
    number = int(request.match_info["number"])
    async with request.app[sessions]() as session:
        count = await session.scalar(select(func.count()).select_from(Item)) or 0
        pages = page_count(count, per_page)
        if not 1 <= number <= pages:  # Django's EmptyPage
            raise web.HTTPNotFound()
        items = await session.scalars(
            select(Item).order_by(Item.id).offset((number - 1) * per_page).limit(per_page)
        )
    return web.json_response(
        {
            "items": [item.to_json() for item in items],
            "number": number,
            "pages": pages,
            "count": count,
            "has_previous": number > 1,
            "has_next": number < pages,
        },
        dumps=request.app[dumps],
    )
