"""What the part keeps for the app's lifetime, under AppKeys; django_app uses module globals."""

from aiohttp import web

from shared.concurrency import EventLog, StreamRecords

events = web.AppKey("events", EventLog)
streams = web.AppKey("streams", StreamRecords)


async def close_event_streams(app: web.Application) -> None:
    """on_shutdown: event streams end and long polls answer, so shutdown need not wait for them."""
    await app[events].close()
