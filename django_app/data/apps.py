"""The app config of part 2, data."""

from django.apps import AppConfig


class DataConfig(AppConfig):
    name = "django_app.data"

    def ready(self) -> None:
        from django_app.data import cache  # noqa: F401  (its @receiver connects forget_item)
