"""The ASGI lifespan protocol, routed in asgi.py: where the upstream client is closed."""

import logging

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, LifespanScope

from django_app.concurrency import upstream

logger = logging.getLogger(__name__)


async def lifespan(
    scope: LifespanScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    # Django's ASGI handler takes only HTTP, so Channels' router sends the lifespan scope here.
    # uvicorn and hypercorn send startup and shutdown; daphne sends neither, so under daphne the
    # client lives until the process ends and the OS closes its sockets.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await upstream.aclose()
            logger.info("Lifespan shutdown: closed the upstream HTTP client")
            await send({"type": "lifespan.shutdown.complete"})
            return
