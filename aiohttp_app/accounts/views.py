"""HTTP handlers of part 5; django_app/accounts/views.py has the same ones, in the same order."""

import asyncio

from aiohttp import web
from argon2 import PasswordHasher
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from aiohttp_app.accounts.models import User
from aiohttp_app.bodies import read_json
from aiohttp_app.data.db import sessions
from shared.runtime.accounts import (
    ACCOUNT_FIELDS,
    ARGON2_MEMORY_COST,
    ARGON2_PARALLELISM,
    ARGON2_TIME_COST,
    check_password,
    check_username,
)
from shared.runtime.errors import ApiError

# argon2-cffi (hynek/argon2-cffi, the binding Django's Argon2PasswordHasher uses): Argon2id, the
# winner of the Password Hashing Competition, with Django's cost parameters. Hashing takes tens of
# milliseconds of CPU: it runs in a worker thread (argon2-cffi releases the GIL meanwhile).
hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_COST, parallelism=ARGON2_PARALLELISM
)


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
        return web.json_response({"username": username}, status=201)
