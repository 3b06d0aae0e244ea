"""Who is in each chat room; the channel layer (settings.CHANNEL_LAYERS) carries the events."""

from django.conf import settings

from shared.runtime.members import LocalMembers, Members, RedisMembers
from shared.runtime.redis_state import redis_client

# This process's count, or with REDIS_URL a count in Redis that every process shares. The client
# connects on first use, in the server's event loop. Nothing closes it at shutdown (Channels has
# no lifespan hook, unlike aiohttp's cleanup_ctx): the process's exit does.
members: Members = (
    RedisMembers(redis_client(settings.REDIS_URL), f"{settings.REDIS_PREFIX}:django")
    if settings.REDIS_URL
    else LocalMembers()
)
