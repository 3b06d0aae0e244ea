"""Settings from environment variables, read once at start-up and kept under an AppKey."""

import os
from dataclasses import dataclass

from aiohttp import web

from shared.validation import ws_ping_settings


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    ws_ping_interval: float  # WebSocketResponse(heartbeat=...): its pong timeout is half of it
    # Django's ALLOWED_HOSTS semantics: a websocket's Origin must name one of these hosts.
    allowed_hosts: tuple[str, ...]
    redis_url: str  # empty: chat rooms live in this process only
    redis_prefix: str


settings = web.AppKey("settings", Settings)


def from_env() -> Settings:
    interval, _ = ws_ping_settings()
    return Settings(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8081")),
        ws_ping_interval=interval,
        # The same variables and defaults as django_app/config/settings.py.
        allowed_hosts=tuple(
            host.strip()
            for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
            if host.strip()
        ),
        redis_url=os.environ.get("REDIS_URL", ""),
        redis_prefix=os.environ.get("REDIS_PREFIX", "parity"),
    )
