"""Chat rooms under an AppKey: this process's sockets per room; with Redis, pub/sub between them."""

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from aiohttp_app.settings import settings
from shared.runtime.members import LocalMembers, Members, RedisMembers
from shared.runtime.redis_state import listen, redis_client, subscribed


class Rooms:
    """The members' sockets of each room in this process; an event goes to each socket in turn."""

    def __init__(self, members: Members) -> None:
        self.members = members
        self.sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        # A send waits while a socket's buffer drains: without a lock, an event published later
        # could pass an earlier one on its way round the room. Channels' layers queue per channel.
        self.delivering: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def join(self, room: str, member: str, ws: web.WebSocketResponse) -> None:
        self.sockets[room].add(ws)
        count = await self.members.join(room, member)
        await self.publish(room, {"type": "join", "members": count})

    async def leave(self, room: str, member: str, ws: web.WebSocketResponse) -> None:
        sockets = self.sockets[room]
        sockets.discard(ws)
        if not sockets:
            del self.sockets[room]
            self.delivering.pop(room, None)
        count = await self.members.leave(room, member)
        await self.publish(room, {"type": "leave", "members": count})

    async def publish(self, room: str, event: dict[str, Any]) -> None:
        await self.deliver(room, json.dumps(event))

    async def deliver(self, room: str, text: str) -> None:
        async with self.delivering[room]:  # asyncio.Lock is fair: events go out as published
            for ws in tuple(self.sockets.get(room, ())):
                with suppress(ConnectionResetError):  # it is closing; its handler leaves the room
                    await ws.send_str(text)


class RedisRooms(Rooms):
    """Rooms whose events go through Redis pub/sub, so that members in every process get them."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        super().__init__(RedisMembers(redis, prefix))
        self.redis = redis
        self.prefix = prefix

    def channel(self, room: str) -> str:
        return f"{self.prefix}:chat:{room}"

    async def publish(self, room: str, event: dict[str, Any]) -> None:
        await self.redis.publish(self.channel(room), json.dumps(event))

    async def received(self, message: dict[str, Any]) -> None:
        """What any process publishes, delivered to this process's members."""
        if message["type"] == "pmessage":
            room = message["channel"].decode().removeprefix(self.channel(""))
            await self.deliver(room, message["data"].decode())


chat_rooms = web.AppKey("chat_rooms", Rooms)


async def rooms_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the rooms; with REDIS_URL, also the Redis client and the listener task."""
    config = app[settings]
    if not config.redis_url:
        app[chat_rooms] = Rooms(LocalMembers())
        yield
        return
    redis = redis_client(config.redis_url)
    rooms = RedisRooms(redis, f"{config.redis_prefix}:aiohttp")
    # One subscription per process, to every room: a process gets all rooms' events, and keeps
    # those of its own members. Confirmed before the first member can join, so none is missed.
    pubsub = await subscribed(redis, rooms.channel("*"), pattern=True)
    listener = asyncio.create_task(listen(pubsub, rooms.received), name="chat-rooms-listener")
    app[chat_rooms] = rooms
    yield
    listener.cancel()
    with suppress(asyncio.CancelledError):
        await listener
    await pubsub.aclose()
    await redis.aclose()
