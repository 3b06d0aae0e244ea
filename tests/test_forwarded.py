"""Behind a proxy, both deployed apps report the client's address and scheme the same way: from
X-Forwarded-For and -Proto when the peer is trusted (FORWARDED_ALLOW_IPS), never otherwise."""

from __future__ import annotations

import httpx
import pytest

from tests.plugins.servers import ServerPool

# docker-compose.yml's two apps: aiohttp, and Django under uvicorn (its proxy headers middleware).
DEPLOYED = ["aiohttp", "django-uvicorn"]
PROXIES = "127.0.0.1,203.0.113.0/24"  # the suite (a proxy on this machine), and a network of them
CLIENT = "198.51.100.9"

# FORWARDED_ALLOW_IPS -> [(the request's headers, what /middleware/client reports)]: a server each.
ASKED = {
    PROXIES: [
        (
            {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
            {"address": CLIENT, "scheme": "https"},
        ),
        (  # through two proxies: the last hop no trusted proxy added
            {"X-Forwarded-For": f"192.0.2.1, {CLIENT}, 203.0.113.7", "X-Forwarded-Proto": "https"},
            {"address": CLIENT, "scheme": "https"},
        ),
        ({}, {"address": "127.0.0.1", "scheme": "http"}),
    ],
    "*": [  # every hop trusted: the first
        (
            {"X-Forwarded-For": f"{CLIENT}, 203.0.113.7", "X-Forwarded-Proto": "http"},
            {"address": CLIENT, "scheme": "http"},
        ),
    ],
    "192.0.2.1": [  # the peer is not the proxy: its headers are only its own word
        (
            {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
            {"address": "127.0.0.1", "scheme": "http"},
        ),
    ],
}


@pytest.mark.parametrize("allowed", list(ASKED), ids=["proxies", "any", "another"])
@pytest.mark.parametrize("target", DEPLOYED)
def test_client_behind_a_proxy(servers: ServerPool, target: str, allowed: str) -> None:
    instance = f"{target}-forwarded-{len(allowed)}"
    server = servers.spawn(target, instance, {"FORWARDED_ALLOW_IPS": allowed})
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            answers = [
                client.get("/middleware/client", headers={**headers, "X-Request-ID": "via-proxy"})
                for headers, _ in ASKED[allowed]
            ]
    finally:
        server.stop()
    for answer, (headers, expected) in zip(answers, ASKED[allowed], strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected, headers
        # What the middlewares before the forwarded one set is on the answer, clone or not.
        assert answer.headers["X-Request-ID"] == "via-proxy"
        assert answer.headers["Server-Timing"].startswith("app;dur=")
