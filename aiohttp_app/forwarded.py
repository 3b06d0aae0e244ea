"""Behind a proxy: the client's address and scheme from X-Forwarded-For and -Proto, believed
from a trusted peer only (FORWARDED_ALLOW_IPS), as uvicorn's proxy headers are for django_app."""

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler

from aiohttp_app.params import header
from aiohttp_app.settings import Network, settings


def is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if "X-Forwarded-Proto" not in request.headers and "X-Forwarded-For" not in request.headers:
        return await handler(request)  # nothing to believe: the peer is the client
    forwarded_proto = header(request, "X-Forwarded-Proto")
    forwarded_for = header(request, "X-Forwarded-For")
    networks = request.app[settings].forwarded_allow_ips
    peer = request.remote
    if peer is None or not is_trusted(peer, networks):
        return await handler(request)  # anyone else's headers are only its own word
    proto = (forwarded_proto or "").strip()
    scheme = proto if proto in {"http", "https"} else request.scheme
    hops = [hop.strip() for hop in (forwarded_for or "").split(",")]
    # Each proxy appends the peer it had: the client is the last hop no trusted proxy added,
    # or the first one where every hop is trusted.
    client = next((hop for hop in reversed(hops) if not is_trusted(hop, networks)), hops[0])
    if (scheme, client or peer) == (request.scheme, peer):
        return await handler(request)
    # A clone has the state the middlewares above set; what those below set stays on the clone.
    return await handler(request.clone(scheme=scheme, remote=client or peer))
