"""URL routes of part 5, in the same order as django_app/accounts/urls.py."""

from aiohttp import hdrs, web

from aiohttp_app.accounts import views, websockets
from aiohttp_app.accounts.csrf import csrf_protect
from aiohttp_app.accounts.storage import with_session


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.view("/accounts", views.AccountsView, name="accounts"),
            # web.view's route, for any method, with the view decorated (web.view takes a class).
            web.route(
                hdrs.METH_ANY,
                "/session",
                with_session(csrf_protect(views.SessionView)),
                name="session",
            ),
            web.get("/me", with_session(views.me), name="me"),
            web.get("/me/items", with_session(views.me_items), name="me-items"),
            web.get("/csrf", views.csrf, name="csrf"),
            web.get("/ws/me", with_session(websockets.me), name="ws-me", allow_head=False),
        ]
    )
