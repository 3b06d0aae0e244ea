"""The app config of part 6, patterns."""

from django.apps import AppConfig


class PatternsConfig(AppConfig):
    name = "django_app.patterns"

    def ready(self) -> None:
        from django_app.patterns import audit  # noqa: F401  (its @receiver connects them)
