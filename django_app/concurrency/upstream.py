"""One httpx.AsyncClient per process, and the call /fanout makes; aiohttp_app mirrors it."""

import asyncio
from typing import Any

import httpx
from django.conf import settings

from shared.runtime.errors import ApiError

# Django has no startup hook under ASGI to create the client in: it is created on first use, in
# the server's event loop (a server runs one per process), and closed by lifespan.py where the
# server sends the ASGI lifespan shutdown event. Under WSGI each request runs in an event loop of
# its own, closed after it: a client from an earlier loop cannot be used, so each loop gets one.
_client: httpx.AsyncClient | None = None
_loop: asyncio.AbstractEventLoop | None = None


def client() -> httpx.AsyncClient:
    global _client, _loop
    if _client is None or _loop is not asyncio.get_running_loop():
        # No timeout of httpx's own, which bounds each step (connect, each read): call_upstream
        # bounds the whole call.
        _client = httpx.AsyncClient(base_url=settings.UPSTREAM_URL, timeout=None)
        _loop = asyncio.get_running_loop()
    return _client


async def aclose() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


async def call_upstream(delay: float, status: int, request_id: str) -> dict[str, Any]:
    params = {"delay": delay, "status": status}
    headers = {"X-Request-ID": request_id}  # passed on: the upstream counts each request's calls
    try:
        # UPSTREAM_TIMEOUT bounds the whole call, connection and body, as aiohttp's total= does.
        async with asyncio.timeout(settings.UPSTREAM_TIMEOUT):
            response = await client().get("/upstream", params=params, headers=headers)
    except TimeoutError:
        raise ApiError("upstream_timeout") from None
    except httpx.TransportError:
        raise ApiError("upstream_unreachable") from None
    if response.status_code >= 500:
        raise ApiError("upstream_error", status=response.status_code)
    body: dict[str, Any] = response.json()
    return body
