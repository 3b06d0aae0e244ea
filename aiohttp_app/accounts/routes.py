"""URL routes of part 5, in the same order as django_app/accounts/urls.py."""

from aiohttp import web

from aiohttp_app.accounts import views, websockets


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.view("/accounts", views.AccountsView, name="accounts"),
            web.view("/session", views.SessionView, name="session"),
            web.get("/me", views.me, name="me"),
            web.get("/me/items", views.me_items, name="me-items"),
            web.get("/csrf", views.csrf, name="csrf"),
            web.get("/ws/me", websockets.me, name="ws-me", allow_head=False),
        ]
    )
