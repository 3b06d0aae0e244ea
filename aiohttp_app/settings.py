"""Settings from environment variables, read once at start-up and kept under an AppKey."""

import ipaddress
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from aiohttp import web
from aiohttp.typedefs import JSONEncoder

from shared.runtime.accounts import cookie_secure, login_window, session_max_age
from shared.runtime.cpu import CPU_WORKERS
from shared.runtime.data import DATABASE_POOL_SIZE
from shared.runtime.validation import ws_ping_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network
type EventLoop = Literal["asyncio", "uvloop"]
type JsonLibrary = Literal["json", "orjson"]


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    ws_ping_interval: float  # WebSocketResponse(heartbeat=...): its pong timeout is half of it
    # Django's ALLOWED_HOSTS semantics: a websocket's Origin must name one of these hosts.
    allowed_hosts: tuple[str, ...]
    redis_url: str  # empty: chat rooms live in this process only
    redis_prefix: str
    # The concurrency part: where /fanout's upstream is and the most one call to it may take,
    # the seconds between SSE keep-alive comments and between heartbeat ticks.
    upstream_url: str
    upstream_timeout: float
    sse_keepalive_seconds: float
    heartbeat_seconds: float
    database_url: str  # SQLAlchemy's form of DATABASE_URL: see aiohttp_app/data/db.py
    database_pool_size: int  # PostgreSQL: connections per engine
    files_dir: Path
    session_cookie_secure: bool  # SESSION_COOKIE_SECURE=1: cookies sent over TLS only
    session_max_age: int  # SESSION_MAX_AGE: the seconds a session lives (two weeks by default)
    login_window_seconds: int  # LOGIN_WINDOW_SECONDS: a name's log-ins are counted in it (60)
    cpu_workers: int  # the processes of the pool /cpu computes in
    # The peers whose X-Forwarded-For and -Proto are believed: uvicorn's FORWARDED_ALLOW_IPS.
    forwarded_allow_ips: tuple[Network, ...]
    # How `python -m aiohttp_app` serves (the aiohttp-best target tunes all three): the event
    # loop web.run_app runs on, whether aiohttp writes an access log (a proxy in front may keep
    # it instead), and the library that writes the JSON answers.
    event_loop: EventLoop
    access_log: bool
    json_library: JsonLibrary


settings = web.AppKey("settings", Settings)
# What web.json_response(dumps=...) writes each JSON answer with: settings.json_library's encoder.
dumps: web.AppKey[JSONEncoder] = web.AppKey("dumps")


def orjson_dumps(data: object) -> str:
    """orjson's text: compact, non-ASCII as UTF-8. What orjson refuses, an integer past 64 bits
    or a key that is not a string, json.dumps writes, as the other targets do."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data)


JSON_ENCODERS: dict[JsonLibrary, JSONEncoder] = {"json": json.dumps, "orjson": orjson_dumps}
EVENT_LOOPS: tuple[EventLoop, ...] = ("asyncio", "uvloop")


def choice[T: str](value: str, allowed: tuple[T, ...]) -> T:
    """A setting that must be one of `allowed`."""
    for option in allowed:
        if value == option:
            return option
    raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")


def configure_logging() -> None:
    """The app's own log lines (errors, background jobs) on stderr, whichever server runs it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def trusted_networks(value: str) -> tuple[Network, ...]:
    """FORWARDED_ALLOW_IPS as uvicorn reads it: addresses and networks, comma-separated; `*`
    trusts every peer."""
    if value.strip() == "*":
        return (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    return tuple(ipaddress.ip_network(item.strip()) for item in value.split(",") if item.strip())


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
        upstream_url=os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8083"),
        upstream_timeout=float(os.environ.get("UPSTREAM_TIMEOUT", "2")),
        sse_keepalive_seconds=float(os.environ.get("SSE_KEEPALIVE_SECONDS", "15")),
        heartbeat_seconds=float(os.environ.get("HEARTBEAT_SECONDS", "1")),
        # Each app has its own SQLite file by default (Django's is db.sqlite3).
        database_url=os.environ.get(
            "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'aiohttp.sqlite3'}"
        ),
        database_pool_size=int(os.environ.get("DATABASE_POOL_SIZE", DATABASE_POOL_SIZE)),
        files_dir=Path(os.environ.get("FILES_DIR", PROJECT_ROOT / "var" / "files")),
        session_cookie_secure=cookie_secure(),
        session_max_age=session_max_age(),
        login_window_seconds=login_window(),
        cpu_workers=int(os.environ.get("CPU_WORKERS", CPU_WORKERS)),
        forwarded_allow_ips=trusted_networks(
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")  # uvicorn's default
        ),
        event_loop=choice(os.environ.get("EVENT_LOOP", "asyncio"), EVENT_LOOPS),
        access_log=os.environ.get("ACCESS_LOG", "1") == "1",
        json_library=choice(os.environ.get("JSON_LIBRARY", "json"), tuple(JSON_ENCODERS)),
    )
