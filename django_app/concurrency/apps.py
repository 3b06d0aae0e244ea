"""The app config of part 3, concurrency."""

from django.apps import AppConfig


class ConcurrencyConfig(AppConfig):
    name = "django_app.concurrency"
