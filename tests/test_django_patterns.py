"""Part 6's pitfalls in Django's own idiom, on the real models: what raises, and what works."""

import logging

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections, transaction
from django.template.loader import render_to_string
from django.test import AsyncClient

from django_app.data.cache import forget_item
from django_app.data.models import Item
from django_app.data.signals import item_changed
from django_app.patterns.audit import refuse_marked
from django_app.patterns.models import AuditEvent, Wallet
from django_app.patterns.wallets import move_money
from shared.runtime.errors import ApiError
from shared.runtime.patterns import (
    CREATED,
    DELETED,
    PAGE_TEMPLATE,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
)

# The ORM runs in sync_to_async's threads: each needs the test database, committed to.
pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_lazy_queryset_in_a_template_raises_in_an_async_view() -> None:
    await Item.objects.acreate(name="<b>pen</b>")
    # What the page's view would do without reading the rows first: the engine evaluates the
    # queryset as `{% for %}` starts, in the event loop's thread, which Django refuses.
    with pytest.raises(SynchronousOnlyOperation, match="async context"):
        render_to_string(PAGE_TEMPLATE, {"items": Item.objects.order_by("name")})


async def test_the_rows_read_first_render_escaped() -> None:
    await Item.objects.acreate(name="<b>pen</b>")
    await Item.objects.acreate(name="a cup")
    # The fix the view uses: the async ORM reads the rows, and the template only formats them.
    items = [item async for item in Item.objects.order_by("name")]
    page = render_to_string(PAGE_TEMPLATE, {"items": items})
    assert page.index("&lt;b&gt;pen&lt;/b&gt;") < page.index("a cup")  # "<" sorts before "a"
    assert "<b>" not in page


async def test_atomic_requests_refuses_an_async_view(monkeypatch: pytest.MonkeyPatch) -> None:
    # ATOMIC_REQUESTS wraps each view in transaction.atomic, which cannot hold across awaits:
    # Django refuses it for an async view outright, before the view runs (core/handlers/base.py,
    # make_view_atomic). AsyncClient re-raises what a server would answer as a 500.
    monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    before = await Wallet.objects.acount()
    with pytest.raises(RuntimeError, match="You cannot use ATOMIC_REQUESTS with async views"):
        await AsyncClient().post("/wallets", {"balance": 5}, content_type="application/json")
    assert await Wallet.objects.acount() == before  # the view never ran


async def test_an_atomic_block_around_awaits_does_not_hold_them() -> None:
    # What move_money avoids: transaction.atomic is synchronous and refuses to enter in the
    # event loop's thread, where each async ORM call would run on a thread of its own anyway.
    with pytest.raises(SynchronousOnlyOperation):
        with transaction.atomic():
            await Wallet.objects.acreate(balance=1)


async def test_a_failure_after_the_debit_rolls_it_back() -> None:
    source = await Wallet.objects.acreate(balance=10)
    with pytest.raises(ApiError) as raised:
        await sync_to_async(move_money)(source.id, source.id + 1000, 4)  # no such destination
    assert raised.value.code == "invalid_field"
    await source.arefresh_from_db()
    assert source.balance == 10


async def test_asend_raises_a_receiver_s_error_and_asend_robust_returns_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = await Item.objects.acreate(name=f"{REFUSED_NAME_PREFIX}: a pen")
    arguments = {"sender": Item, "item_id": item.id, "item": item, "event": UPDATED}
    # asend: the first error raised out of the sender (the view: a 500 after the write).
    with pytest.raises(ReceiverRefused):
        await item_changed.asend(**arguments)
    # asend_robust: every receiver ran; the error is returned and logged, the rest answered.
    with caplog.at_level(logging.ERROR, logger="django.dispatch"):
        results = dict(await item_changed.asend_robust(**arguments))
    assert isinstance(results[refuse_marked], ReceiverRefused)
    assert results[forget_item] is None
    assert "Error calling refuse_marked in Signal.send_robust()" in caplog.text


async def test_post_save_and_post_delete_receivers_record_even_outside_a_view() -> None:
    # The receivers hang on the model, not on the view: any asave() or adelete() is audited.
    item = await Item.objects.acreate(name="a cup")
    item_id = item.id
    item.note = "blue"
    await item.asave()
    await item.adelete()
    events = [row.event async for row in AuditEvent.objects.filter(item_id=item_id).order_by("id")]
    assert events == [CREATED, UPDATED, DELETED]


async def test_the_audit_of_an_item_through_async_client(async_client: AsyncClient) -> None:
    created = await async_client.post("/items", {"name": "a lamp"}, content_type="application/json")
    item_id = created.json()["id"]
    await async_client.delete(f"/items/{item_id}")
    response = await async_client.get(f"/items/{item_id}/audit")
    assert response.status_code == 200
    assert [event["event"] for event in response.json()["events"]] == [CREATED, DELETED]
    assert (await async_client.get("/items/999999999999999990/audit")).status_code == 404
