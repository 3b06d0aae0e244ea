"""HTTP handlers of part 5; django_app/accounts/views.py has the same ones, in the same order."""

import asyncio

from aiohttp import web
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from aiohttp_app.accounts.auth import (
    authenticate,
    get_user,
    hasher,
    login,
    login_required,
    logout,
)
from aiohttp_app.accounts.csrf import ensure_csrf_cookie, get_token
from aiohttp_app.accounts.models import User
from aiohttp_app.accounts.throttle import count_attempt, forget_attempts
from aiohttp_app.bodies import read_json
from aiohttp_app.data.db import sessions
from aiohttp_app.data.models import Item
from aiohttp_app.settings import dumps
from shared.runtime.accounts import (
    ACCOUNT_FIELDS,
    ME_ITEMS_MAX,
    check_password,
    check_username,
    normalize_username,
)
from shared.runtime.errors import ApiError


# A class view, so that /accounts answers a method it does not take with 405: the router would
# otherwise pass GET on to `/{name}` (as FilesView's comment says).
class AccountsView(web.View):
    async def post(self) -> web.Response:
        fields = await read_json(self.request, ACCOUNT_FIELDS)
        username = check_username(fields["username"])
        check_password(fields["password"])
        async with self.request.app[sessions]() as session:
            if await session.scalar(select(exists().where(User.username == username))):
                raise ApiError("username_taken")
        password = await asyncio.to_thread(hasher.hash, fields["password"])
        try:
            async with self.request.app[sessions].begin() as session:
                session.add(User(username=username, password=password))
        except IntegrityError:  # taken meanwhile, by a sign-up in flight at the same time
            raise ApiError("username_taken") from None
        return web.json_response({"username": username}, status=201, dumps=self.request.app[dumps])


# routes.py wraps it, and `me`, in aiohttp-session's middleware (with_session), and it in
# csrf_protect: its POST and DELETE need the CSRF check.
class SessionView(web.View):
    async def post(self) -> web.Response:
        fields = await read_json(self.request, ACCOUNT_FIELDS)
        username = normalize_username(fields["username"])
        await count_attempt(self.request, username)
        user = await authenticate(self.request, username, fields["password"])
        if user is None:
            raise ApiError("invalid_credentials")
        await forget_attempts(self.request, username)
        await login(self.request, user)
        return web.json_response({"username": user.username}, dumps=self.request.app[dumps])

    async def delete(self) -> web.Response:
        await logout(self.request)
        return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    user = await get_user(request)
    if user is None:
        raise ApiError("not_authenticated")
    return web.json_response({"username": user.username}, dumps=request.app[dumps])


@login_required
async def me_items(request: web.Request) -> web.Response:
    user = await get_user(request)
    assert user is not None  # login_required let the request in
    async with request.app[sessions]() as session:
        items = await session.scalars(select(Item).order_by(Item.id).limit(ME_ITEMS_MAX))
        count = await session.scalar(select(func.count()).select_from(Item))
    page = [item.to_json() for item in items]
    return web.json_response(
        {"username": user.username, "items": page, "count": count}, dumps=request.app[dumps]
    )


@ensure_csrf_cookie  # the cookie, set on this answer, renewed
async def csrf(request: web.Request) -> web.Response:
    return web.json_response({"csrf": get_token(request)}, dumps=request.app[dumps])
