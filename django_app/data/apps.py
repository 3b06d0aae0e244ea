"""The app config of part 2, data."""

from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "django_app.data"
