"""GET /items/{id} through Django's cache (locmem, or Redis); item_changed invalidates it."""

from typing import Any

from django.core.cache import cache
from django.dispatch import receiver

from django_app.data.models import Item
from django_app.data.signals import item_changed
from shared.runtime.patterns import ITEM_CACHE_SECONDS, item_cache_key


async def cached_item(item_id: int) -> dict[str, Any] | None:
    """The item's JSON from the cache, or None: a miss."""
    found: dict[str, Any] | None = await cache.aget(item_cache_key(item_id))
    return found


async def cache_item(item: Item) -> dict[str, Any]:
    """The item's JSON, stored for the next reads."""
    await cache.aset(item_cache_key(item.id), item.to_json(), timeout=ITEM_CACHE_SECONDS)
    return item.to_json()


@receiver(item_changed)
async def forget_item(sender: type[Item], item_id: int, **kwargs: Any) -> None:
    """A receiver of item_changed: an update or a delete removes the entry."""
    await cache.adelete(item_cache_key(item_id))
