"""Part 6 in aiohttp's own test idiom (pytest-aiohttp's aiohttp_client), on a real server."""

import logging
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from aiohttp_app.data.cache import forget_item
from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from aiohttp_app.data.signals import item_changed, send_robust
from aiohttp_app.main import create_app
from aiohttp_app.patterns.audit import refuse_marked
from aiohttp_app.patterns.models import AuditEvent
from shared.runtime.patterns import (
    CREATED,
    DELETED,
    REFUSED_NAME_PREFIX,
    UPDATED,
    ReceiverRefused,
)

type Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Client:
    """The app on a real aiohttp server on a loopback port, with a database of this test's own
    (create_app reads DATABASE_URL; the cache is in memory without REDIS_URL)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'aiohttp.sqlite3'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    return await aiohttp_client(create_app())


async def new_item(client: Client, name: str, note: str = "") -> int:
    response = await client.post("/items", json={"name": name, "note": note})
    assert response.status == 201
    item_id: int = (await response.json())["id"]
    return item_id


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
