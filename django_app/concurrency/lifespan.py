"""The ASGI lifespan protocol, routed in asgi.py: where the process's clients and pools close."""

import logging

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, LifespanScope

from django_app.concurrency import upstream
from django_app.patterns import cpu, raw

logger = logging.getLogger(__name__)


async def lifespan(
    scope: LifespanScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    # Django's ASGI handler takes only HTTP, so Channels' router sends the lifespan scope here.
    # uvicorn and hypercorn send startup and shutdown; daphne sends neither, so under daphne the
    # client and the database pool live until the process ends and the OS closes their sockets,
    # and the CPU pool's workers are joined as the interpreter exits.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await upstream.aclose()
            logger.info("Lifespan shutdown: closed the upstream HTTP client")
            await cpu.shutdown()
            await raw.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
