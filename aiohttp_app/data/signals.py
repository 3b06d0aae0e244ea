"""The signals of an item's writes, on aiosignal: what aiohttp's own app signals are made of."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiosignal import Signal

from aiohttp_app.data.models import Item

logger = logging.getLogger(__name__)

# Django's ORM sends post_save and post_delete from save() and delete(); SQLAlchemy's events run
# inside the flush, where nothing can be awaited, so the views send these two themselves.
item_saved = web.AppKey("item_saved", Signal[web.Application, Item, bool])  # True: created
item_deleted = web.AppKey("item_deleted", Signal[web.Application, Item])
# Sent after an update or a delete with the event ("updated", "deleted"), once the write is done:
# part 2's cache and part 6's receivers listen, part 2 knows neither.
item_changed = web.AppKey("item_changed", Signal[web.Application, Item, str])
ChangeReceiver = Callable[[web.Application, Item, str], Awaitable[object]]


def setup_signals(app: web.Application) -> None:
    app[item_saved] = Signal[web.Application, Item, bool](app)
    app[item_deleted] = Signal[web.Application, Item](app)
    app[item_changed] = Signal[web.Application, Item, str](app)
    app.on_startup.append(freeze_signals)


async def freeze_signals(app: web.Application) -> None:
    # A Signal sends only once frozen; the app's own are frozen as the app starts, these here.
    for key in (item_saved, item_deleted, item_changed):
        app[key].freeze()


async def send_robust(
    app: web.Application, item: Item, event: str
) -> list[tuple[ChangeReceiver, object]]:
    """item_changed to every receiver at once, whatever the others raise: Django's asend_robust,
    (receiver, its result or its error) pairs. aiosignal's own send() awaits the receivers one by
    one, and the first that raises stops it and raises."""
    signal = app[item_changed]
    receivers: list[ChangeReceiver] = list(signal)
    results = await asyncio.gather(
        *(receiver(app, item, event) for receiver in receivers), return_exceptions=True
    )
    for receiver, result in zip(receivers, results, strict=True):
        if isinstance(result, Exception):
            logger.error(
                "Error calling %s in send_robust()", receiver.__qualname__, exc_info=result
            )
    return list(zip(receivers, results, strict=True))
