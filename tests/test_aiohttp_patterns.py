"""Part 6 in aiohttp's own test idiom (pytest-aiohttp's aiohttp_client), on a real server."""

import asyncio
import logging
import random
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiohttp_jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer
from sqlalchemy import func, select

from aiohttp_app.data.cache import forget_item, item_cache
from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from aiohttp_app.data.signals import item_changed, send_robust
from aiohttp_app.main import create_app
from aiohttp_app.patterns.audit import refuse_marked
from aiohttp_app.patterns.cpu import cpu_pool
from aiohttp_app.patterns.models import AuditEvent, Transfer, Wallet
from aiohttp_app.patterns.raw import raw_database
from shared.harness import upstream
from shared.runtime.cpu import digest
from shared.runtime.errors import error_body
from shared.runtime.patterns import (
    CREATED,
    DELETED,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
    item_cache_key,
)

type Client = TestClient[web.Request, web.Application]

TIMEOUT = 30.0  # seconds for what should take a fraction of that: a hang still fails


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database of this test's own (create_app reads DATABASE_URL), and the cache in memory."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'aiohttp.sqlite3'}")
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, own_database: None) -> Client:
    # Not a mock: aiohttp_client starts the app on a real aiohttp server on a loopback port, in
    # the test's event loop, with every cleanup context (engines, cache, process pool) set up.
    return await aiohttp_client(create_app())


@pytest.fixture
async def upstream_server(aiohttp_server: AiohttpServer) -> TestServer:
    """The upstream service /fanout calls, the harness's aiohttp app, served in this test's event
    loop beside the app: what it counted is read from its app, in-process."""
    return await aiohttp_server(upstream.create_app())


@pytest.fixture
async def fanout_client(
    aiohttp_client: AiohttpClient,
    own_database: None,
    upstream_server: TestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    monkeypatch.setenv("UPSTREAM_URL", str(upstream_server.make_url("")).rstrip("/"))
    return await aiohttp_client(create_app())


async def new_item(client: Client, name: str, note: str = "") -> int:
    response = await client.post("/items", json={"name": name, "note": note})
    assert response.status == 201
    item_id: int = (await response.json())["id"]
    return item_id


async def new_wallet(client: Client, balance: int) -> int:
    response = await client.post("/wallets", json={"balance": balance})
    assert response.status == 201
    assert response.headers["Location"] == f"/wallets/{(await response.json())['id']}"
    wallet_id: int = (await response.json())["id"]
    return wallet_id


# cpu


async def test_cpu_the_pool_and_the_pitfall_compute_the_shared_digest(client: Client) -> None:
    assert isinstance(client.app[cpu_pool], ProcessPoolExecutor)  # made by cpu_pool_context
    for path in ("/cpu", "/pitfalls/cpu"):
        response = await client.get(path, params={"rounds": "1000"})
        assert response.status == 200
        assert await response.json() == {"rounds": 1000, "digest": digest(1000)}


async def test_cpu_rounds_over_the_limit(client: Client) -> None:
    response = await client.get("/cpu", params={"rounds": "1000001"})
    assert response.status == 400
    assert await response.json() == error_body(
        "invalid_parameter", name="rounds", expected="an integer from 1 to 1000000"
    )


# bounded-fanout


async def test_bounded_fanout_the_upstream_sees_at_most_limit_calls(
    fanout_client: Client, upstream_server: TestServer
) -> None:
    request_id = f"bounded-{uuid.uuid4().hex}"
    response = await fanout_client.get(
        "/fanout",
        params={"n": "6", "delay": "0.2", "limit": "2"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status == 200
    assert [result["status"] for result in (await response.json())["results"]] == [200] * 6
    calls = upstream_server.app[upstream.calls_by_request][request_id]
    assert (calls.requests, calls.peak, calls.cancelled) == (6, 2, 0)


async def test_bounded_fanout_a_failing_call_cancels_the_others(
    fanout_client: Client, upstream_server: TestServer
) -> None:
    request_id = f"cancelled-{uuid.uuid4().hex}"
    response = await fanout_client.get(
        "/fanout",
        params={"n": "8", "delay": "1", "limit": "4", "fail": "1"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status == 502
    assert await response.json() == error_body("upstream_error", status="503")
    # The first four start; the first fails after 0.2 s, the TaskGroup cancels the three others
    # (the service sees their connections close a moment later), and the last four never start.
    calls = upstream_server.app[upstream.calls_by_request][request_id]
    for _ in range(int(TIMEOUT / 0.05)):
        if not calls.in_flight:
            break
        await asyncio.sleep(0.05)
    assert (calls.requests, calls.in_flight, calls.peak, calls.cancelled) == (4, 0, 4, 3)


# queue


async def test_queue_every_item_processed_never_more_than_size_waiting(client: Client) -> None:
    response = await client.get("/queue", params={"items": "100", "workers": "4", "size": "10"})
    assert response.status == 200
    assert await response.json() == {
        "items": 100,
        "workers": 4,
        "size": 10,
        "processed": 100,
        "peak": 10,
    }


# raw-async-db


async def test_raw_async_db_the_driver_reads_what_the_orm_does(client: Client) -> None:
    assert client.app[raw_database].pool is None  # SQLite: aiosqlite opens the file per request
    for name in ("a pen", "a cup", "a lamp"):
        await new_item(client, name)
    orm = await client.get("/items", params={"limit": "100"})
    raw = await client.get("/items/raw", params={"limit": "100"})
    assert raw.status == 200
    assert await raw.json() == await orm.json()
    assert (await raw.json())["count"] == 3


# page


async def test_page_jinja2_renders_asynchronously_and_escapes_as_django(client: Client) -> None:
    assert aiohttp_jinja2.get_env(client.app).is_async
    await new_item(client, "<script>alert(1)</script>", note='it\'s "quoted"')
    await new_item(client, "a cup")
    response = await client.get("/items.html")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = await response.text()
    assert "<script>" not in page
    assert (
        "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>it&#x27;s &quot;quoted&quot;</td>"
        in page
    )
    assert page.index("&lt;script&gt;") < page.index("a cup")  # by name: "<" sorts before "a"


# transfer


async def test_transfer_moves_the_amount_or_nothing(client: Client) -> None:
    source, destination = await new_wallet(client, 50), await new_wallet(client, 0)
    moved = await client.post("/transfers", json={"from": source, "to": destination, "amount": 20})
    assert moved.status == 201
    refused = await client.post(
        "/transfers", json={"from": source, "to": destination, "amount": 31}
    )
    assert refused.status == 409
    assert await refused.json() == error_body("insufficient_funds")
    missing = await client.post("/transfers", json={"from": source, "to": 10**17, "amount": 5})
    assert missing.status == 400  # found after the debit, which the rollback undoes
    async with client.app[sessions]() as session:
        balances = {w.id: w.balance for w in await session.scalars(select(Wallet))}
        transfers = await session.scalar(select(func.count()).select_from(Transfer))
    assert balances == {source: 30, destination: 20}
    assert transfers == 1


async def test_transfer_concurrent_transfers_keep_the_total(client: Client) -> None:
    wallets = [await new_wallet(client, 100) for _ in range(5)]
    rng = random.Random(16)
    pairs = [rng.sample(wallets, 2) for _ in range(60)]
    responses = await asyncio.gather(
        *(client.post("/transfers", json={"from": a, "to": b, "amount": 30}) for a, b in pairs)
    )
    assert {response.status for response in responses} <= {201, 409}
    async with client.app[sessions]() as session:
        balances = list(await session.scalars(select(Wallet.balance)))
    assert sum(balances) == 500
    assert min(balances) >= 0


# cache


async def test_cache_the_entry_is_the_item_s_json_until_an_update(client: Client) -> None:
    item_id = await new_item(client, "a pen", note="blue")
    cache = client.app[item_cache]
    assert await cache.get(item_cache_key(item_id)) is None
    first = await client.get(f"/items/{item_id}")
    assert first.headers["X-Cache"] == "miss"
    assert await cache.get(item_cache_key(item_id)) == await first.json()
    second = await client.get(f"/items/{item_id}")
    assert second.headers["X-Cache"] == "hit"
    assert await second.json() == await first.json()
    assert (await client.patch(f"/items/{item_id}", json={"note": "red"})).status == 200
    assert await cache.get(item_cache_key(item_id)) is None  # forget_item, a receiver, ran
    third = await client.get(f"/items/{item_id}")
    assert (third.headers["X-Cache"], (await third.json())["note"]) == ("miss", "red")


async def test_cache_a_missing_item_is_not_cached(client: Client) -> None:
    for _ in range(2):
        assert (await client.get("/items/999999999999999990")).status == 404
    assert await client.app[item_cache].get(item_cache_key(999999999999999990)) is None


# paging


async def test_paging_counted_by_hand_as_django_counts(client: Client) -> None:
    ids = [await new_item(client, f"item {n}") for n in range(5)]
    first = await client.get("/items/pages/1", params={"per_page": "2"})
    assert first.status == 200
    body = await first.json()
    assert [item["id"] for item in body["items"]] == ids[:2]
    assert {k: v for k, v in body.items() if k != "items"} == {
        "number": 1,
        "pages": 3,
        "count": 5,
        "has_previous": False,
        "has_next": True,
    }
    last = await (await client.get("/items/pages/3", params={"per_page": "2"})).json()
    assert ([item["id"] for item in last["items"]], last["has_next"]) == (ids[4:], False)
    for number in ("0", "4"):  # Django's EmptyPage, below the first or past the last
        assert (await client.get(f"/items/pages/{number}", params={"per_page": "2"})).status == 404


# signals


async def test_signals_send_raises_a_receiver_s_error_and_send_robust_returns_it(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    item_id = await new_item(client, f"{REFUSED_NAME_PREFIX}: a pen")
    async with client.app[sessions]() as session:
        item = await session.get(Item, item_id)
    assert item is not None
    # aiosignal's own send(): the receivers one by one, the first error raised out of it.
    with pytest.raises(ReceiverRefused):
        await client.app[item_changed].send(client.app, item, UPDATED)
    # send_robust: every receiver ran; the error is returned and logged, the rest answered.
    with caplog.at_level(logging.ERROR, logger="aiohttp_app.data.signals"):
        results = dict(await send_robust(client.app, item, UPDATED))
    assert isinstance(results[refuse_marked], ReceiverRefused)
    assert results[forget_item] is None
    assert "Error calling refuse_marked in send_robust()" in caplog.text


async def test_signals_are_frozen_once_the_app_runs(client: Client) -> None:
    # A Signal is a FrozenList: receivers are connected before the app starts, never after.
    with pytest.raises(RuntimeError, match="frozen"):
        client.app[item_changed].append(refuse_marked)


async def test_signals_the_audit_of_a_deleted_item(client: Client) -> None:
    item_id = await new_item(client, "a lamp")
    assert (await client.patch(f"/items/{item_id}", json={"note": "red"})).status == 200
    assert (await client.delete(f"/items/{item_id}")).status == 204
    response = await client.get(f"/items/{item_id}/audit")
    assert response.status == 200
    assert [event["event"] for event in (await response.json())["events"]] == [
        CREATED,
        UPDATED,
        DELETED,
    ]
    async with client.app[sessions]() as session:
        rows = await session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == item_id))
        assert list(rows) == [CREATED, UPDATED, DELETED]
    assert (await client.get("/items/999999999999999990/audit")).status == 404
