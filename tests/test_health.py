"""Liveness and readiness under a Redis taken away and brought back, on every target."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from shared.runtime.health import CHECK_SECONDS
from tests.plugins.servers import ServerPool, parametrize_targets
from tests.services import RedisServer, started

RECOVERED_WITHIN = 15.0  # seconds for readiness to come back once Redis answers again


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


def ready(client: httpx.Client) -> httpx.Response:
    return client.get("/health/ready", timeout=CHECK_SECONDS * 3)


def test_readiness_follows_redis_down_and_back(
    servers: ServerPool, target: str, tmp_path: Path
) -> None:
    with started(RedisServer(tmp_path / "redis")) as redis:
        server = servers.spawn(target, f"{target}-health", env={"REDIS_URL": redis.url})
        try:
            with httpx.Client(base_url=server.base_url) as client:
                up = ready(client)
                assert (up.status_code, up.json()) == (
                    200, {"status": "ready", "checks": {"database": "up", "redis": "up"}}
                )  # fmt: skip
                redis.stop()
                down = ready(client)
                assert down.status_code == 503, down.text
                assert down.json()["error"] == {
                    "code": "not_ready", "message": "Not ready: redis down."
                }  # fmt: skip
                live = client.get("/health/live")
                assert (live.status_code, live.json()) == (200, {"status": "live"})
                redis.start()  # on the same port
                deadline = time.monotonic() + RECOVERED_WITHIN
                while (again := ready(client)).status_code != 200:
                    assert time.monotonic() < deadline, f"still {again.status_code}: {again.text}"
                    time.sleep(0.2)
        finally:
            server.stop()
