"""Log-ins counted per username: limits' fixed window, in Redis with REDIS_URL, else in-process."""

from collections.abc import AsyncIterator

from aiohttp import web
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from aiohttp_app.accounts.storage import session_redis
from aiohttp_app.settings import settings
from shared.runtime.accounts import LOGIN_ATTEMPTS, login_key, too_many_attempts

login_limiter = web.AppKey("login_limiter", FixedWindowRateLimiter)
login_limit = web.AppKey("login_limit", RateLimitItem)


async def throttle_context(app: web.Application) -> AsyncIterator[None]:
    """limits' counter for the app's lifetime: in Redis, on the sessions' connections, which every
    worker process and replica shares (Django's cache makes the same choice); else this
    process's memory."""
    config = app[settings]
    storage: Storage = MemoryStorage()
    if (client := app[session_redis]) is not None:  # closed with the sessions' client
        storage = RedisStorage(
            f"async+{config.redis_url}",
            implementation="redispy",
            key_prefix=f"{config.redis_prefix}:aiohttp:login",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]  # typed as scalars
        )
    app[login_limiter] = FixedWindowRateLimiter(storage)
    app[login_limit] = RateLimitItemPerSecond(LOGIN_ATTEMPTS, config.login_window_seconds)
    yield


async def count_attempt(request: web.Request, username: str) -> None:
    """One more log-in for the name in its window (the first opens it); past LOGIN_ATTEMPTS, 429
    until the window ends. Counted before the password is checked: log-ins sent at once are
    counted at once, and none past the limit is hashed."""
    limiter, limit = request.app[login_limiter], request.app[login_limit]
    if not await limiter.hit(limit, login_key(username)):
        window = await limiter.get_window_stats(limit, login_key(username))
        raise too_many_attempts(window.reset_time)


async def forget_attempts(request: web.Request, username: str) -> None:
    """A log-in that succeeded: the name's count starts again."""
    await request.app[login_limiter].clear(request.app[login_limit], login_key(username))
