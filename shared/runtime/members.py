"""Who is in each chat room: counted in this process, or in Redis across processes; both apps."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

from redis.asyncio import Redis

# A room's member set expires this long after its last join: what a crashed process never
# removed does not stay counted for ever (a clean shutdown removes its members one by one).
ROOM_TTL_SECONDS = 24 * 60 * 60


class Members(Protocol):
    """Join and leave return the room's member count just after the change."""

    async def join(self, room: str, member: str) -> int: ...

    async def leave(self, room: str, member: str) -> int: ...


class LocalMembers:
    """The members of this process: the embedded default, without Redis."""

    def __init__(self) -> None:
        self.rooms: defaultdict[str, set[str]] = defaultdict(set)

    async def join(self, room: str, member: str) -> int:
        self.rooms[room].add(member)
        return len(self.rooms[room])

    async def leave(self, room: str, member: str) -> int:
        members = self.rooms[room]
        members.discard(member)
        if not members:
            del self.rooms[room]
        return len(members)


class RedisMembers:
    """A Redis set of member ids per room, shared by every process that uses the same prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, room: str) -> str:
        return f"{self.prefix}:members:{room}"

    async def join(self, room: str, member: str) -> int:
        key = self.key(room)
        # MULTI/EXEC: the count is the set's size right after this change, whoever else joins.
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, member)
            pipe.expire(key, ROOM_TTL_SECONDS)
            pipe.scard(key)
            *_, count = await pipe.execute()
        return int(count)

    async def leave(self, room: str, member: str) -> int:
        key = self.key(room)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(key, member)
            pipe.scard(key)
            *_, count = await pipe.execute()
        return int(count)
