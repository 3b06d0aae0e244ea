"""One ClientSession for the app's lifetime, and the call /fanout makes; django_app mirrors it."""

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from aiohttp_app.settings import settings
from shared.runtime.errors import ApiError

upstream = web.AppKey("upstream", ClientSession)


async def upstream_context(app: web.Application) -> AsyncIterator[None]:
    # UPSTREAM_TIMEOUT bounds the whole call, connection and body (django_app: asyncio.timeout).
    timeout = ClientTimeout(total=app[settings].upstream_timeout)
    async with ClientSession(app[settings].upstream_url, timeout=timeout) as session:
        app[upstream] = session
        yield


async def call_upstream(
    session: ClientSession, delay: float, status: int, request_id: str
) -> dict[str, Any]:
    params = {"delay": delay, "status": status}
    headers = {"X-Request-ID": request_id}  # passed on: the upstream counts each request's calls
    try:
        async with session.get("/upstream", params=params, headers=headers) as response:
            if response.status >= 500:
                raise ApiError("upstream_error", status=response.status)
            body: dict[str, Any] = await response.json()
            return body
    except TimeoutError:
        raise ApiError("upstream_timeout") from None
    except ClientError:
        raise ApiError("upstream_unreachable") from None
