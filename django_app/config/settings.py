"""Django settings, every deployment-specific value read from an environment variable."""

import os
from pathlib import Path

from shared.validation import JSON_BODY_MAX_BYTES

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-dev-only-set-DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "channels",
    "django_app.basics",
]

# Every middleware here is async-capable: one sync middleware would cost a thread per request.
MIDDLEWARE = [
    "django_app.basics.middleware.ErrorMiddleware",
]

ROOT_URLCONF = "django_app.config.urls"
ASGI_APPLICATION = "django_app.config.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
DATA_UPLOAD_MAX_MEMORY_SIZE = JSON_BODY_MAX_BYTES

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
