"""URL routes of part 5, in the same order as aiohttp_app/accounts/routes.py."""

from django.urls import path
from django.views.decorators.csrf import csrf_protect

from django_app.accounts import views
from django_app.accounts.middleware import with_session
from django_app.handshakes import websocket_required

urlpatterns = [
    path("accounts", views.AccountsView.as_view(), name="accounts"),
    path("session", with_session(csrf_protect(views.SessionView.as_view())), name="session"),
    path("me", with_session(views.me), name="me"),
    path("me/items", with_session(views.me_items), name="me-items"),
    path("csrf", views.csrf, name="csrf"),
    # The websocket route of routing.py, for a plain HTTP request: 426.
    path("ws/me", websocket_required, name="ws-me"),
]
