"""HTTP handlers of part 2; django_app/data/views.py has the same ones, in the same order."""

import asyncio
import uuid

from aiohttp import hdrs, web
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from aiohttp_app.bodies import read_json
from aiohttp_app.data.cache import cache_item, cached_item
from aiohttp_app.data.db import get_or_create_counter, sessions, sync_sessions
from aiohttp_app.data.models import Counter, Item, StoredFile
from aiohttp_app.data.signals import item_deleted, item_saved, send_robust
from aiohttp_app.data.uploads import content_disposition, receive_upload
from aiohttp_app.params import header
from aiohttp_app.settings import dumps, settings
from shared.runtime.data import (
    ITEM_FIELDS,
    MULTIPART_MEDIA_TYPE,
    RACE_WINDOW_SECONDS,
    SEARCH_RESULTS_MAX,
    check_counter_name,
    check_media_type,
    check_upload_length,
    parse_page,
    parse_search_name,
    stored_path,
)
from shared.runtime.patterns import CACHE_HEADER, DELETED, UPDATED
from shared.runtime.validation import check_content_encoding


class ItemsView(web.View):
    async def get(self) -> web.Response:
        query = self.request.query
        page = parse_page(query.getall("limit", []), query.getall("offset", []))
        async with self.request.app[sessions]() as session:
            items = await session.scalars(
                select(Item).order_by(Item.id).limit(page.limit).offset(page.offset)
            )
            count = await session.scalar(select(func.count()).select_from(Item))
        return web.json_response(
            {"items": [item.to_json() for item in items], "count": count},
            dumps=self.request.app[dumps],
        )

    head = get  # HEAD wherever GET is, as web.get() routes have it; no body is sent

    async def post(self) -> web.Response:
        fields = await read_json(self.request, ITEM_FIELDS)
        item = Item(**fields)
        async with self.request.app[sessions].begin() as session:
            session.add(item)
        await self.request.app[item_saved].send(self.request.app, item, True)
        location = self.request.app.router["item"].url_for(id=str(item.id))
        return web.json_response(
            item.to_json(),
            status=201,
            headers={hdrs.LOCATION: str(location)},
            dumps=self.request.app[dumps],
        )


def find_items(sync_session: sessionmaker[Session], name: str) -> list[Item]:
    """Synchronous on purpose, like a library you cannot rewrite: a classic SQLAlchemy Session.

    It blocks while the database answers, so it runs in a worker thread (asyncio.to_thread);
    called directly, it would stop every other request of this event loop meanwhile.
    """
    with sync_session() as session:
        query = select(Item).where(Item.name == name).order_by(Item.id).limit(SEARCH_RESULTS_MAX)
        return list(session.scalars(query))


async def search_items(request: web.Request) -> web.Response:
    name = parse_search_name(request.query.getall("name", []))
    items = await asyncio.to_thread(find_items, request.app[sync_sessions], name)
    return web.json_response(
        {"items": [item.to_json() for item in items]}, dumps=request.app[dumps]
    )


class ItemView(web.View):
    async def get(self) -> web.Response:
        item_id = int(self.request.match_info["id"])
        found = await cached_item(self.request.app, item_id)
        hit = found is not None
        if found is None:
            async with self.request.app[sessions]() as session:
                item = await session.get(Item, item_id)
            if item is None:
                raise web.HTTPNotFound()  # not cached: the item may be created later
            found = await cache_item(self.request.app, item)
        return web.json_response(
            found, headers={CACHE_HEADER: "hit" if hit else "miss"}, dumps=self.request.app[dumps]
        )

    head = get

    async def patch(self) -> web.Response:
        async with self.request.app[sessions].begin() as session:
            item = await session.get(Item, int(self.request.match_info["id"]))
            if item is None:
                raise web.HTTPNotFound()
            changes = await read_json(self.request, ITEM_FIELDS, partial=True)
            for name, value in changes.items():
                setattr(item, name, value)
        await self.request.app[item_saved].send(self.request.app, item, False)
        await send_robust(self.request.app, item, UPDATED)
        return web.json_response(item.to_json(), dumps=self.request.app[dumps])

    async def delete(self) -> web.Response:
        async with self.request.app[sessions].begin() as session:
            item = await session.get(Item, int(self.request.match_info["id"]))
            if item is None:
                raise web.HTTPNotFound()
            await session.delete(item)
        await self.request.app[item_deleted].send(self.request.app, item)
        await send_robust(self.request.app, item, DELETED)
        return web.Response(status=204)


async def counter(request: web.Request) -> web.Response:
    name = check_counter_name(request.match_info["name"])
    async with request.app[sessions]() as session:
        found = await session.scalar(select(Counter).where(Counter.name == name))
    return web.json_response(
        (found or Counter(name=name, value=0)).to_json(), dumps=request.app[dumps]
    )


async def increment_counter(request: web.Request) -> web.Response:
    name = check_counter_name(request.match_info["name"])
    async with request.app[sessions].begin() as session:
        found = await get_or_create_counter(session, name)
        # One UPDATE ... SET value = value + 1: the database adds, so no increment is lost.
        await session.execute(
            update(Counter).where(Counter.id == found.id).values(value=Counter.value + 1)
        )
        await session.refresh(found, ["value"])
    return web.json_response(found.to_json(), dumps=request.app[dumps])


async def increment_counter_racy(request: web.Request) -> web.Response:
    """THE ANTI-PATTERN, kept on purpose: read, await, write back. Concurrent calls lose updates."""
    name = check_counter_name(request.match_info["name"])
    async with request.app[sessions].begin() as session:
        found = await get_or_create_counter(session, name)
    await asyncio.sleep(
        RACE_WINDOW_SECONDS
    )  # any await here lets other requests read the same value
    found.value += 1
    async with request.app[sessions].begin() as session:
        session.add(found)  # UPDATE counters SET value = <the value read, plus one>
    return web.json_response(found.to_json(), dumps=request.app[dumps])


# A class view, so that /files answers a method it does not take with 405: the router would
# otherwise pass GET on to `/{name}`, the next route that takes it ("Hello, files").
class FilesView(web.View):
    async def post(self) -> web.Response:
        check_media_type(header(self.request, hdrs.CONTENT_TYPE), MULTIPART_MEDIA_TYPE)
        check_content_encoding(header(self.request, hdrs.CONTENT_ENCODING))
        check_upload_length(self.request.content_length)
        received = await receive_upload(self.request)
        stored = StoredFile(
            id=received.id,
            name=received.name,
            media_type=received.media_type,
            size=received.size,
            sha256=received.sha256,
        )
        try:
            async with self.request.app[sessions].begin() as session:
                session.add(stored)
        except BaseException:
            received.discard()
            raise
        return web.json_response(stored.to_json(), status=201, dumps=self.request.app[dumps])


async def download_file(request: web.Request) -> web.FileResponse:
    async with request.app[sessions]() as session:
        stored = await session.get(StoredFile, uuid.UUID(request.match_info["id"]))
    if stored is None:
        raise web.HTTPNotFound()
    path = stored_path(request.app[settings].files_dir, stored.id)
    # FileResponse sends the file with sendfile() and sets Content-Length; it also answers
    # Range and If-None-Match requests, which Django's StreamingHttpResponse does not.
    return web.FileResponse(
        path,
        headers={
            hdrs.CONTENT_TYPE: stored.media_type,
            hdrs.CONTENT_DISPOSITION: content_disposition(stored.name),
            "X-Content-Type-Options": "nosniff",
        },
    )


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("boom: an unhandled error, on purpose (the traceback goes to the log)")
