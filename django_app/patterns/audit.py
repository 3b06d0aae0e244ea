"""An item's audit: receivers of the item signals (Django's), and GET /items/{id}/audit."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from django_app.data.models import Item
from django_app.data.signals import item_changed
from django_app.patterns.models import AuditEvent
from shared.runtime.patterns import (
    AUDIT_EVENTS_MAX,
    CREATED,
    DELETED,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
    audit_json,
)


# Django sends post_save and post_delete from save() and delete(), synchronously, even when the
# view calls asave() and adelete(): those run save() in a thread, and the receivers in it.
@receiver(post_save, sender=Item)
def record_save(sender: type[Item], instance: Item, created: bool, **kwargs: Any) -> None:
    AuditEvent.objects.create(item_id=instance.id, event=CREATED if created else UPDATED)


@receiver(post_delete, sender=Item)
def record_delete(sender: type[Item], instance: Item, **kwargs: Any) -> None:
    AuditEvent.objects.create(item_id=instance.id, event=DELETED)


@receiver(item_changed)
async def refuse_marked(sender: type[Item], item: Item, event: str, **kwargs: Any) -> None:
    """A receiver that fails, for the items a case marks: asend_robust logs its error, and the
    other receivers run all the same; asend would raise it, and cancel them."""
    if item.name.startswith(REFUSED_NAME_PREFIX):
        raise ReceiverRefused(f"{event}: {item.name!r}")


@require_safe
async def item_audit(request: HttpRequest, item_id: int) -> JsonResponse:
    newest = AuditEvent.objects.filter(item_id=item_id).order_by("-id")[:AUDIT_EVENTS_MAX]
    events = [(row.event, row.at) async for row in newest][::-1]
    if not events and not await Item.objects.filter(id=item_id).aexists():
        raise Http404  # no item had this id: an item without events is one made before the audit
    return JsonResponse(audit_json(events))
