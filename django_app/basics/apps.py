"""The app config of the behaviours app."""

from django.apps import AppConfig


class BehavioursConfig(AppConfig):
    name = "django_app.basics"
