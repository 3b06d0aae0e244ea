"""Wallets and atomic transfers: SQLAlchemy's `async with session.begin()`, rows locked in order."""

from aiohttp import hdrs, web
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiohttp_app.bodies import read_json
from aiohttp_app.data.db import sessions
from aiohttp_app.patterns.models import Transfer, Wallet
from aiohttp_app.settings import dumps
from shared.runtime.errors import ApiError
from shared.runtime.patterns import TRANSFER_FIELDS, WALLET_FIELDS, check_transfer, no_wallet


class WalletsView(web.View):
    async def post(self) -> web.Response:
        fields = await read_json(self.request, WALLET_FIELDS)
        wallet = Wallet(**fields)
        async with self.request.app[sessions].begin() as session:
            session.add(wallet)
        location = self.request.app.router["wallet"].url_for(id=str(wallet.id))
        return web.json_response(
            wallet.to_json(),
            status=201,
            headers={hdrs.LOCATION: str(location)},
            dumps=self.request.app[dumps],
        )


async def wallet(request: web.Request) -> web.Response:
    async with request.app[sessions]() as session:
        found = await session.get(Wallet, int(request.match_info["id"]))
    if found is None:
        raise web.HTTPNotFound()
    return web.json_response(found.to_json(), dumps=request.app[dumps])


async def move_money(session: AsyncSession, source: int, destination: int, amount: int) -> Transfer:
    """Debit, then credit, in the caller's transaction: whatever raises here undoes both."""
    # PostgreSQL: both rows locked, in id order, so two opposite transfers never deadlock. SQLite
    # has no row locks (FOR UPDATE is left out): the first UPDATE takes the database's write lock.
    await session.execute(
        select(Wallet.id)
        .where(Wallet.id.in_((source, destination)))
        .order_by(Wallet.id)
        .with_for_update()
    )
    debited = await session.scalar(
        update(Wallet)
        .where(Wallet.id == source, Wallet.balance >= amount)
        .values(balance=Wallet.balance - amount)
        .returning(Wallet.id)
    )
    if debited is None:
        if not await session.scalar(select(exists().where(Wallet.id == source))):
            raise no_wallet("from")
        raise ApiError("insufficient_funds")
    # A destination no wallet has is found here, after the debit: raising rolls the debit back.
    credited = await session.scalar(
        update(Wallet)
        .where(Wallet.id == destination)
        .values(balance=Wallet.balance + amount)
        .returning(Wallet.id)
    )
    if credited is None:
        raise no_wallet("to")
    transfer = Transfer(source_id=source, destination_id=destination, amount=amount)
    session.add(transfer)
    return transfer


class TransfersView(web.View):
    async def post(self) -> web.Response:
        source, destination, amount = check_transfer(await read_json(self.request, TRANSFER_FIELDS))
        # One transaction: committed as the block ends, rolled back if anything in it raises.
        async with self.request.app[sessions].begin() as session:
            transfer = await move_money(session, source, destination, amount)
        return web.json_response(transfer.to_json(), status=201, dumps=self.request.app[dumps])
