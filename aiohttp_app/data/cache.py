"""GET /items/{id} through aiocache (memory, or Redis: REDIS_URL); item_changed invalidates it."""

from collections.abc import AsyncIterator
from typing import Any

from aiocache import BaseCache, Cache
from aiocache.serializers import JsonSerializer
from aiohttp import web

from aiohttp_app.data.models import Item
from aiohttp_app.settings import settings
from shared.runtime.patterns import ITEM_CACHE_SECONDS, item_cache_key

item_cache = web.AppKey("item_cache", BaseCache)


async def cache_context(app: web.Application) -> AsyncIterator[None]:
    """One cache for the app's lifetime: in this process, or in Redis, which every worker
    process shares (Django's CACHES makes the same choice)."""
    redis_url = app[settings].redis_url
    cache = Cache.from_url(redis_url) if redis_url else Cache(Cache.MEMORY)
    cache.namespace = f"{app[settings].redis_prefix}:aiohttp:cache:"
    cache.serializer = JsonSerializer()  # Redis's default; in memory, a copy and not the dict
    app[item_cache] = cache
    yield
    await cache.close()


async def cached_item(app: web.Application, item_id: int) -> dict[str, Any] | None:
    """The item's JSON from the cache, or None: a miss."""
    found: dict[str, Any] | None = await app[item_cache].get(item_cache_key(item_id))
    return found


async def cache_item(app: web.Application, item: Item) -> dict[str, Any]:
    """The item's JSON, stored for the next reads."""
    await app[item_cache].set(item_cache_key(item.id), item.to_json(), ttl=ITEM_CACHE_SECONDS)
    return item.to_json()


async def forget_item(app: web.Application, item: Item, event: str) -> None:
    """A receiver of item_changed: an update or a delete removes the entry."""
    await app[item_cache].delete(item_cache_key(item.id))
