"""Log-ins counted per username: Django's cache, in Redis with REDIS_URL, else in-process."""

import time

from django.conf import settings
from django.core.cache import cache

from shared.runtime.accounts import LOGIN_ATTEMPTS, login_key, too_many_attempts


async def count_attempt(username: str) -> None:
    """One more log-in for the name in its window (the first opens it); past LOGIN_ATTEMPTS, 429
    until the window ends. Counted before the password is checked: log-ins sent at once are
    counted at once, and none past the limit is hashed."""
    key, window = login_key(username), settings.LOGIN_WINDOW_SECONDS
    # Django's cache tells no key's expiry: the window's end is kept beside the count.
    while not await cache.aadd(key, 1, timeout=window):
        try:  # the backend's incr in a thread: Redis's INCR, LocMemCache's under its lock
            attempts = await cache.aincr(key)
        except ValueError:  # the window closed since aadd: this log-in opens the next
            continue
        if attempts > LOGIN_ATTEMPTS:
            raise too_many_attempts(await cache.aget(f"{key}:ends", time.time() + window))
        return
    await cache.aset(f"{key}:ends", time.time() + window, timeout=window)


async def forget_attempts(username: str) -> None:
    """A log-in that succeeded: the name's count starts again."""
    key = login_key(username)
    await cache.adelete_many([key, f"{key}:ends"])
