"""Websocket handshakes: 426 for a plain HTTP request to a websocket route; 403 from a foreign
Origin, as Channels' AllowedHostsOriginValidator."""

from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from aiohttp_app.params import header
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


def asks_for_websocket(request: web.Request) -> bool:
    """A websocket handshake, as uvicorn and hypercorn tell one from plain HTTP (RFC 6455 §4.1):
    a GET whose Connection has the token `upgrade` and whose Upgrade is `websocket`."""
    if request.method != hdrs.METH_GET or hdrs.UPGRADE not in request.headers:
        return False  # plain HTTP, told apart without parsing a header: every request asks
    connection = (header(request, hdrs.CONNECTION) or "").lower().split(",")
    return (
        "upgrade" in (token.strip() for token in connection)
        and (header(request, hdrs.UPGRADE) or "").strip().lower() == "websocket"
    )


def require_websocket(request: web.Request) -> None:
    """Every websocket handler's first call. 426, with Upgrade: websocket, for a plain HTTP
    request, where ws.prepare() would answer a bare 400 (Django's HTTP routes for the same paths
    answer 426); 403 for a handshake from a foreign Origin. Django's origin_middleware wraps its
    websocket router; here the check runs in the handlers of websocket routes only, so that no
    plain HTTP request pays for it."""
    if not asks_for_websocket(request):
        raise ApiError("websocket_required")
    if not origin_allowed(header(request, hdrs.ORIGIN), request.app[settings].allowed_hosts):
        raise ApiError("forbidden_origin")
