"""URL routes of part 5, in the same order as aiohttp_app/accounts/routes.py."""

from django.urls import path
from django.views.decorators.csrf import csrf_protect

from django_app.accounts import views
from django_app.accounts.middleware import with_session

urlpatterns = [
    path("accounts", views.AccountsView.as_view(), name="accounts"),
    path("session", with_session(csrf_protect(views.SessionView.as_view())), name="session"),
    path("me", with_session(views.me), name="me"),
    path("me/items", with_session(views.me_items), name="me-items"),
    path("csrf", views.csrf, name="csrf"),
]
