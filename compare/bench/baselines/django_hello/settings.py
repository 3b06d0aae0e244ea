"""Minimal settings; BENCH_DJANGO_MIDDLEWARE picks a middleware set for docs/django-asgi-cost.md."""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "compare.bench.baselines.django_hello.urls"
USE_TZ = True
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}

# The baseline has none. The sets the ASGI-cost study compares (compare/bench/asgi_cost.py):
MIDDLEWARE_SETS = {
    "none": [],
    "one-async": ["compare.bench.baselines.django_hello.middleware.AsyncPassThrough"],
    "one-sync": ["compare.bench.baselines.django_hello.middleware.SyncPassThrough"],
    # The suite's own (django_app/config/settings.py), but CommonMiddleware: three async.
    "suite": [
        "django_app.concurrency.middleware.RequestIdMiddleware",
        "django_app.concurrency.middleware.ServerTimingMiddleware",
        "django_app.basics.middleware.ErrorMiddleware",
    ],
    # `django-admin startproject`'s list.
    "startproject": [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
}
MIDDLEWARE = MIDDLEWARE_SETS[os.environ.get("BENCH_DJANGO_MIDDLEWARE", "none")]
if os.environ.get("BENCH_DJANGO_MIDDLEWARE") == "startproject":
    INSTALLED_APPS = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
    ]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
