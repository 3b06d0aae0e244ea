"""What the part keeps, in module globals: in this process, or with REDIS_URL in Redis for all."""

from django.conf import settings

from shared.runtime.concurrency import STREAMS_KEPT, EventLog, Records, StreamRecord
from shared.runtime.redis_state import RedisEventLog, RedisRecords, redis_client

# Django has no application object to hang state on, nor a start-up hook: the Redis client
# connects on first use, in the server's event loop, and the log subscribes on its first reader
# (aiohttp_app/concurrency/state.py makes the same choice in a cleanup context). Jobs and ticks
# are in the database already. Without a shutdown hook to close the event log with, the ASGI
# server cancels the open streams and polls itself at shutdown.
redis = redis_client(settings.REDIS_URL) if settings.REDIS_URL else None
prefix = f"{settings.REDIS_PREFIX}:django"
events = EventLog() if redis is None else RedisEventLog(redis, prefix)
streams: Records[StreamRecord] = (
    Records(STREAMS_KEPT)
    if redis is None
    else RedisRecords(redis, f"{prefix}:streams", StreamRecord)
)
