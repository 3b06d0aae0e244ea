"""Part 6's pitfalls in Django's own idiom, on the real models: what raises, and what works."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from aiohttp.test_utils import TestServer
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections, transaction
from django.template.loader import render_to_string
from django.test import AsyncClient, override_settings
from pytest_aiohttp import AiohttpServer

from django_app.concurrency import upstream
from django_app.data.cache import forget_item
from django_app.data.models import Item
from django_app.data.signals import item_changed
from django_app.patterns import cpu
from django_app.patterns.audit import refuse_marked
from django_app.patterns.models import AuditEvent, Wallet
from django_app.patterns.wallets import move_money
from shared.harness import upstream as upstream_service
from shared.runtime.cpu import digest
from shared.runtime.errors import ApiError, error_body
from shared.runtime.patterns import (
    CREATED,
    DELETED,
    PAGE_TEMPLATE,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
    item_cache_key,
)

# The ORM runs in sync_to_async's threads: each needs the test database, committed to.
pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30.0  # seconds for what should take a fraction of that: a hang still fails


@pytest.fixture
async def upstream_server(aiohttp_server: AiohttpServer) -> AsyncIterator[TestServer]:
    """The upstream service /fanout calls, the harness's aiohttp app, served in this test's event
    loop: Django's view calls it through UPSTREAM_URL, and the test reads its app's counts."""
    server = await aiohttp_server(upstream_service.create_app())
    with override_settings(UPSTREAM_URL=str(server.make_url("")).rstrip("/")):
        yield server
    await upstream.aclose()  # the view's httpx client, made in this loop


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


# What the async views of part 6 answer through Django's AsyncClient, in-process; the parity
# suite (tests/test_parity_patterns.py and the spec's cases) plays them on real servers.


async def test_cpu_the_pool_and_the_pitfall_compute_the_shared_digest(
    async_client: AsyncClient,
) -> None:
    try:
        for path in ("/cpu", "/pitfalls/cpu"):
            response = await async_client.get(path, {"rounds": "1000"})
            assert response.status_code == 200
            assert response.json() == {"rounds": 1000, "digest": digest(1000)}
        assert isinstance(cpu.pool(), ProcessPoolExecutor)  # made by the first /cpu, kept
    finally:
        await cpu.shutdown()  # what the lifespan handler does as a server stops


async def test_bounded_fanout_the_upstream_sees_at_most_limit_calls(
    async_client: AsyncClient, upstream_server: TestServer
) -> None:
    request_id = f"bounded-{uuid.uuid4().hex}"
    response = await async_client.get(
        "/fanout", {"n": "6", "delay": "0.2", "limit": "2"}, headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 200
    assert [result["status"] for result in response.json()["results"]] == [200] * 6
    calls = upstream_server.app[upstream_service.calls_by_request][request_id]
    assert (calls.requests, calls.peak, calls.cancelled) == (6, 2, 0)


async def test_bounded_fanout_a_failing_call_cancels_the_others(
    async_client: AsyncClient, upstream_server: TestServer
) -> None:
    request_id = f"cancelled-{uuid.uuid4().hex}"
    response = await async_client.get(
        "/fanout",
        {"n": "8", "delay": "1", "limit": "4", "fail": "1"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 502
    assert response.json() == error_body("upstream_error", status="503")
    calls = upstream_server.app[upstream_service.calls_by_request][request_id]
    for _ in range(int(TIMEOUT / 0.05)):  # the service sees the connections close a moment later
        if not calls.in_flight:
            break
        await asyncio.sleep(0.05)
    assert (calls.requests, calls.in_flight, calls.peak, calls.cancelled) == (4, 0, 4, 3)


async def test_queue_every_item_processed_never_more_than_size_waiting(
    async_client: AsyncClient,
) -> None:
    response = await async_client.get("/queue", {"items": "100", "workers": "4", "size": "10"})
    assert response.status_code == 200
    assert response.json() == {"items": 100, "workers": 4, "size": 10, "processed": 100, "peak": 10}


async def test_raw_async_db_the_driver_reads_what_the_orm_does(async_client: AsyncClient) -> None:
    for name in ("a pen", "a cup", "a lamp"):
        await Item.objects.acreate(name=name)
    # aiosqlite opens the database Django's connection does: here the test runner's in-memory
    # one, a `file:` URI of the same process, which sees what the ORM committed.
    orm = await async_client.get("/items", {"limit": "100"})
    raw = await async_client.get("/items/raw", {"limit": "100"})
    assert raw.status_code == 200
    assert raw.json() == orm.json()
    assert raw.json()["count"] == await Item.objects.acount()


async def test_cache_the_entry_is_the_item_s_json_until_an_update(
    async_client: AsyncClient,
) -> None:
    item = await Item.objects.acreate(name="a pen", note="blue")
    key = item_cache_key(item.id)
    assert await cache.aget(key) is None
    first = await async_client.get(f"/items/{item.id}")
    assert first.headers["X-Cache"] == "miss"
    assert await cache.aget(key) == first.json()
    second = await async_client.get(f"/items/{item.id}")
    assert (second.headers["X-Cache"], second.json()) == ("hit", first.json())
    patched = await async_client.patch(
        f"/items/{item.id}", {"note": "red"}, content_type="application/json"
    )
    assert patched.status_code == 200
    assert await cache.aget(key) is None  # forget_item, a receiver of item_changed, ran
    third = await async_client.get(f"/items/{item.id}")
    assert (third.headers["X-Cache"], third.json()["note"]) == ("miss", "red")


async def test_paging_async_paginator_pages(async_client: AsyncClient) -> None:
    ids = [(await Item.objects.acreate(name=f"item {n}")).id for n in range(5)]
    first = (await async_client.get("/items/pages/1", {"per_page": "2"})).json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    assert {k: v for k, v in first.items() if k != "items"} == {
        "number": 1,
        "pages": 3,
        "count": 5,
        "has_previous": False,
        "has_next": True,
    }
    last = (await async_client.get("/items/pages/3", {"per_page": "2"})).json()
    assert ([item["id"] for item in last["items"]], last["has_next"]) == (ids[4:], False)
    for number in ("0", "4"):  # EmptyPage, below the first or past the last
        response = await async_client.get(f"/items/pages/{number}", {"per_page": "2"})
        assert response.status_code == 404
