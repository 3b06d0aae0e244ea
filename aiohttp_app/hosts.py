"""The Host check of Django's CommonMiddleware: a Host that ALLOWED_HOSTS does not name is 400."""

import functools
import re

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from aiohttp_app.handshakes import asks_for_websocket, is_same_domain
from aiohttp_app.settings import settings
from shared.runtime.errors import ApiError

# Django's host_validation_re: a domain or a bracketed IPv6 address, and a port.
HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?")


@functools.lru_cache(maxsize=256)  # the same few Hosts on every request
def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Whether ALLOWED_HOSTS names the Host's domain, its port aside, as get_host() asks."""
    if (found := HOST.fullmatch(host.lower())) is None:
        return False
    domain = found[1].removesuffix(".")
    return any(pattern == "*" or is_same_domain(domain, pattern) for pattern in allowed_hosts)


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTTP request but a websocket handshake (Channels checks their Origin, not their Host);
    without a Host (HTTP/1.0), Django checks the server's own address, which is allowed. Read
    with get(): aiohttp's parser refuses a repeated Host (400) before the app runs."""
    host = request.headers.get(hdrs.HOST)
    if host is not None and not host_allowed(host, request.app[settings].allowed_hosts):
        if not asks_for_websocket(request):
            raise ApiError("bad_request")
    return await handler(request)
