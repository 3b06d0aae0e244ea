"""The app config of part 6, patterns."""

from django.apps import AppConfig


class PatternsConfig(AppConfig):
    name = "django_app.patterns"
