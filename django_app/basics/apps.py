"""The app config of part 1, the basics."""

from django.apps import AppConfig


class BasicsConfig(AppConfig):
    name = "django_app.basics"
