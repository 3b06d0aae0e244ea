"""The app config of part 5, accounts: its users are django.contrib.auth's."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "django_app.accounts"
