"""An item's audit: receivers of the item signals (aiosignal), and GET /items/{id}/audit."""

from aiohttp import web
from sqlalchemy import exists, select

from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from aiohttp_app.data.signals import item_changed, item_deleted, item_saved
from aiohttp_app.patterns.models import AuditEvent
from aiohttp_app.settings import dumps
from shared.runtime.patterns import (
    AUDIT_EVENTS_MAX,
    CREATED,
    DELETED,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
    audit_json,
)


# The item views send item_saved and item_deleted once the write has committed, and await the
# receivers one by one: aiosignal's send(), as Django's post_save and post_delete are sent.
async def record_save(app: web.Application, item: Item, created: bool) -> None:
    async with app[sessions].begin() as session:
        session.add(AuditEvent(item_id=item.id, event=CREATED if created else UPDATED))


async def record_delete(app: web.Application, item: Item) -> None:
    async with app[sessions].begin() as session:
        session.add(AuditEvent(item_id=item.id, event=DELETED))


async def refuse_marked(app: web.Application, item: Item, event: str) -> None:
    """A receiver that fails, for the items a case marks: send_robust logs its error, and the
    other receivers run all the same; aiosignal's send() would raise it, and stop them."""
    if item.name.startswith(REFUSED_NAME_PREFIX):
        raise ReceiverRefused(f"{event}: {item.name!r}")


def connect_receivers(app: web.Application) -> None:
    """What Django's @receiver does as PatternsConfig.ready() imports this module."""
    app[item_saved].append(record_save)
    app[item_deleted].append(record_delete)
    app[item_changed].append(refuse_marked)


async def item_audit(request: web.Request) -> web.Response:
    item_id = int(request.match_info["id"])
    newest = (
        select(AuditEvent.event, AuditEvent.at)
        .where(AuditEvent.item_id == item_id)
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_EVENTS_MAX)
    )
    async with request.app[sessions]() as session:
        events = [(row.event, row.at) for row in await session.execute(newest)][::-1]
        if not events and not await session.scalar(select(exists().where(Item.id == item_id))):
            raise web.HTTPNotFound()  # no item had this id: one without events predates the audit
    return web.json_response(audit_json(events), dumps=request.app[dumps])
