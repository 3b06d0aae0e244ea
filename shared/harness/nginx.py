"""nginx in front of the compose stack (deploy/nginx.conf): how long it holds a hostile client."""

from __future__ import annotations

import re
from pathlib import Path

from shared.harness.targets import PROJECT_ROOT, Target

NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
# docker-compose.yml's app services behind nginx, and the target whose commands each one runs.
BEHIND_NGINX = {"aiohttp": "aiohttp", "django": "django-uvicorn"}
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}  # nginx's time units


def seconds(directive: str, conf: Path = NGINX_CONF) -> float:
    """A time directive's value in `conf` (`client_header_timeout 10s;`), in seconds."""
    found = re.search(rf"^\s*{directive}\s+(\d+)(ms|s|m|h|d)?\b", conf.read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{conf}: no {directive}")
    return int(found[1]) * UNITS[found[2] or "s"]


def holds(target: Target) -> dict[str, float]:
    """How long nginx in front of `target` holds each hostile client (http.toml's rules), in
    seconds: a header section, silent or dribbled, within client_header_timeout, from the
    connection; an idle keep-alive connection within keepalive_timeout. A body goes on to the app
    as it comes (proxy_request_buffering off), so the target's own bound holds for it; nginx's
    client_body_timeout, between two reads, never comes for a body that keeps dripping."""
    header = seconds("client_header_timeout")
    bounds = {
        "silent-client": header,
        "slow-header": header,
        "idle-keep-alive": seconds("keepalive_timeout"),
    }
    if "slow-body" in target.holds:
        bounds["slow-body"] = target.holds["slow-body"]
    return bounds
