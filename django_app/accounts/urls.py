"""URL routes of part 5, in the same order as aiohttp_app/accounts/routes.py."""

from django.urls import path

from django_app.accounts import views

urlpatterns = [
    path("accounts", views.AccountsView.as_view(), name="accounts"),
]
