"""Websocket handshakes from a foreign Origin get 403, as Channels' AllowedHostsOriginValidator."""

from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from aiohttp_app.settings import settings
from shared.runtime.errors import ApiError


def is_same_domain(host: str, pattern: str) -> bool:
    """Django's rule for ALLOWED_HOSTS: `.example.com` is example.com and its subdomains."""
    pattern = pattern.lower()
    if pattern.startswith("."):
        return host.endswith(pattern) or host == pattern[1:]
    return host == pattern


def origin_allowed(origin: str | None, allowed_hosts: Sequence[str]) -> bool:
    """Whether the Origin's host is allowed; with no Origin, only if `*` allows every host."""
    if "*" in allowed_hosts:
        return True
    try:
        host = urlsplit(origin).hostname if origin is not None else None
    except ValueError:  # not a URL: `http://[::1` (an unclosed IPv6 host)
        return False
    if host is None:  # no Origin, or one without a host such as `null`
        return False
    # Hosts only, as in ALLOWED_HOSTS: the Origin's scheme and port are not compared.
    return any(is_same_domain(host, pattern.strip("[]")) for pattern in allowed_hosts)


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Checks every websocket handshake, whatever its route, before its handler runs."""
    is_websocket = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
    if is_websocket and not origin_allowed(
        request.headers.get(hdrs.ORIGIN), request.app[settings].allowed_hosts
    ):
        raise ApiError("forbidden_origin")
    return await handler(request)
