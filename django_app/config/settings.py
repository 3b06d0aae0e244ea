"""Django settings, every deployment-specific value read from an environment variable."""

import os
from pathlib import Path
from typing import Any

import dj_database_url

from shared.runtime.accounts import (
    COMMON_PASSWORDS_PATH,
    PASSWORD_MIN_CHARS,
    cookie_secure,
    login_window,
    session_max_age,
)
from shared.runtime.cpu import CPU_WORKERS as DEFAULT_CPU_WORKERS
from shared.runtime.data import DATABASE_POOL_SIZE, DATABASE_WAIT_SECONDS
from shared.runtime.patterns import TEMPLATES_DIR
from shared.runtime.validation import JSON_BODY_MAX_BYTES

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-dev-only-set-DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
# ALLOWED_HOSTS (DJANGO_ALLOWED_HOSTS first) also names the Origins a websocket may come from
# (origin_middleware in asgi.py); aiohttp_app reads ALLOWED_HOSTS the same way.
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
)

INSTALLED_APPS = [
    "django.contrib.contenttypes",  # django.contrib.auth's permissions name content types
    "django.contrib.auth",
    "django.contrib.sessions",  # the database's session store, django_session
    "channels",
    "django_tasks_db",
    "django_app.data",
    "django_app.concurrency",
    "django_app.realtime",
    "django_app.accounts",
    "django_app.patterns",
    "django_app.basics",
]

# Every middleware here is async-capable: one synchronous layer would send each request through
# a thread of its own, held until its response (seed 004's lesson; docs/behaviours.md).
# CommonMiddleware (Django's, its hooks called in the event loop), outside the error middleware,
# gives every answer but a stream its Content-Length (RFC 9110 §8.6), which aiohttp's server sets
# itself: without it, Django's answers go chunked under every ASGI server. It also refuses a Host
# not in ALLOWED_HOSTS (400).
MIDDLEWARE = [
    "django_app.concurrency.middleware.RequestIdMiddleware",
    "django_app.concurrency.middleware.ServerTimingMiddleware",
    "django_app.basics.middleware.CommonMiddleware",
    "django_app.basics.middleware.ErrorMiddleware",
]
# No redirect of `/path` to `/path/`: an unknown path is a 404 in both apps.
APPEND_SLASH = False

ROOT_URLCONF = "django_app.config.urls"
# Part 6's pages: Django's own engine, on the templates aiohttp_app's Jinja2 reads too.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [TEMPLATES_DIR],
    }
]
ASGI_APPLICATION = "django_app.config.asgi.application"

# The concurrency part (part 3); aiohttp_app/settings.py reads the same variables. Background
# jobs go through Django's Tasks to django-tasks-db's queue in the database, which
# `python -m django_app task_worker` runs; the heartbeat ticks in `python -m django_app heartbeat`.
UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8083")
UPSTREAM_TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT", "2"))  # one whole call, in seconds
SSE_KEEPALIVE_SECONDS = float(os.environ.get("SSE_KEEPALIVE_SECONDS", "15"))
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "1"))
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Part 6, patterns: the processes of the pool /cpu computes in.
CPU_WORKERS = int(os.environ.get("CPU_WORKERS", DEFAULT_CPU_WORKERS))

# Chat rooms (part 4): with REDIS_URL, groups reach every process through Redis pub/sub, as
# aiohttp_app's rooms do; without it, the in-memory layer of this one process.
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "parity")
CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:django:"},
        }
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# The cache: GET /items/{id}'s (part 6), and the sessions' with REDIS_URL (part 5, below). Redis
# with REDIS_URL, which every process shares; without it, each process's own memory.
# aiohttp_app/data/cache.py makes the same choice with aiocache.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}:django",
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# DATABASE_URL (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME) switches the database;
# aiohttp_app reads the same variable. By default: SQLite, db.sqlite3 in the project root.
DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Under ASGI, each request's ORM calls run in a thread of their own, on a connection of their
# own. SQLite: wait up to 20 s for the write lock, take it when a transaction begins rather than
# when it first writes, and keep a write-ahead log (readers never wait; a commit syncs less).
# PostgreSQL: a pool of at most DATABASE_POOL_SIZE connections (default 15), not one per
# concurrent request, and DATABASE_WAIT_SECONDS (10 s) at most for one, connecting or waiting
# for the pool. aiohttp_app/data/db.py sizes its SQLAlchemy pools the same.
# Options in the URL's query string (?timeout=5) win over these.
DATABASE_OPTIONS: dict[str, dict[str, Any]] = {
    "django.db.backends.sqlite3": {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    },
    "django.db.backends.postgresql": {
        "pool": {
            "min_size": 1,
            "max_size": int(os.environ.get("DATABASE_POOL_SIZE", DATABASE_POOL_SIZE)),
            "timeout": DATABASE_WAIT_SECONDS,  # for a connection of the pool (psycopg's: 30 s)
        },
        "connect_timeout": DATABASE_WAIT_SECONDS,
    },
}
DATABASES["default"]["OPTIONS"] = {
    **DATABASE_OPTIONS.get(DATABASES["default"]["ENGINE"], {}),
    **DATABASES["default"].get("OPTIONS", {}),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = JSON_BODY_MAX_BYTES
# Uploads (part 2, files) go to FILES_DIR, named by their id; aiohttp_app reads the same variable.
MEDIA_ROOT = Path(os.environ.get("FILES_DIR", BASE_DIR / "var" / "files"))

# Accounts (part 5): django.contrib.auth's User. Passwords hashed with Argon2id (argon2-cffi, as
# aiohttp_app's), which Django's docs recommend over its default PBKDF2; the validators are
# checked in the same order as aiohttp_app's (shared/runtime/accounts.py), on the same list of
# common passwords.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_CHARS},
    },
    {
        "NAME": "django.contrib.auth.password_validation.CommonPasswordValidator",
        "OPTIONS": {"password_list_path": COMMON_PASSWORDS_PATH},
    },
]

# Sessions (part 5): in the database by default; with REDIS_URL, in Redis through Django's cache,
# as aiohttp_app keeps them in Redis then, so that every process and server finds them. The
# middlewares that read them wrap the views of part 5 only (accounts/middleware.py), not MIDDLEWARE.
SESSION_COOKIE_AGE = session_max_age()  # SESSION_MAX_AGE seconds; two weeks by default
SESSION_COOKIE_SECURE = cookie_secure()
# CSRF (part 5): CsrfViewMiddleware as csrf_protect, on the views the session authenticates (the
# spec's rule), not in MIDDLEWARE, where it would refuse every other POST without a token.
CSRF_COOKIE_SECURE = cookie_secure()
LOGIN_URL = "session"  # where login_required sends a visitor without a session: POST /session
CSRF_FAILURE_VIEW = "django_app.accounts.csrf.csrf_failure"
if REDIS_URL:  # CACHES (above) is Redis then
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
# Log-ins counted per username (accounts/throttle.py) in the cache (CACHES, above), in a window of
# LOGIN_WINDOW_SECONDS (60 by default); aiohttp_app reads the same variable.
LOGIN_WINDOW_SECONDS = login_window()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # httpx logs each request /fanout makes at INFO; aiohttp's client logs none.
    "loggers": {"httpx": {"level": "WARNING"}},
}
