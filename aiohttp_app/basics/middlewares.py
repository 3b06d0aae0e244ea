"""The error middleware: every error leaves as the shared JSON body, as in django_app."""

import logging

from aiohttp import WSCloseCode, hdrs, web
from aiohttp.typedefs import Handler
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aiohttp_app.settings import dumps
from shared.runtime.errors import ApiError, error_body

logger = logging.getLogger(__name__)

prepared = web.RequestKey("prepared", web.StreamResponse)  # the response whose headers went out


async def remember_prepared(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: what the error middleware must not answer over."""
    request[prepared] = response


def error_response(request: web.Request, error: ApiError) -> web.Response:
    """The shared JSON body of `error`, with its status and headers."""
    answer = web.json_response(
        error.body, status=error.status, headers=error.headers, dumps=request.app[dumps]
    )
    if error.headers.get(hdrs.CONNECTION) == "close":
        answer.force_close()  # aiohttp sends the header, but closes only when told
    return answer


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(request, error)
    except PoolTimeout:  # SQLAlchemy's pool: no connection came free within its pool_timeout
        return error_response(request, ApiError("database_busy"))
    except web.HTTPNotFound:
        return web.json_response(error_body("not_found"), status=404, dumps=request.app[dumps])
    except web.HTTPMethodNotAllowed as error:
        return web.json_response(
            error_body("method_not_allowed", method=request.method),
            status=405,
            # The list as Django writes it ("GET, HEAD"); aiohttp's own reads "GET,HEAD".
            headers={"Allow": ", ".join(sorted(error.allowed_methods))},
            dumps=request.app[dumps],
        )
    except web.HTTPException:
        raise
    except Exception:
        # The traceback goes to the log, never to the client.
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        # After a websocket handshake or a streamed response's headers, an HTTP response would
        # be written into the stream: a websocket closes with 1011, as the ASGI servers close a
        # consumer that raised; a stream ends where it is.
        if isinstance(response := request.get(prepared), web.WebSocketResponse):
            await response.close(code=WSCloseCode.INTERNAL_ERROR)
            return response
        if response is not None:
            raise
        return web.json_response(error_body("internal_error"), status=500, dumps=request.app[dumps])
