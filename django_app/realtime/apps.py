"""The app config of part 4, realtime."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "django_app.realtime"
