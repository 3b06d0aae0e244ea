"""Part 4's shared rules: chat input, member counts, and the Origin and Host rules both apps must
agree on."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import pytest
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from channels.security.websocket import OriginValidator
from django.http.request import split_domain_port, validate_host
from redis.asyncio import Redis, RedisError

from aiohttp_app.handshakes import origin_allowed
from aiohttp_app.hosts import host_allowed
from shared.runtime.errors import ApiError
from shared.runtime.members import LocalMembers, Members, RedisMembers
from shared.runtime.validation import chat_message_too_big, check_room, parse_chat_message

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.parametrize("room", ["a", "lobby", "room-42", "-", "x" * 50])
def test_good_room_names(room: str) -> None:
    check_room(room)


@pytest.mark.parametrize(
    "room", ["", "Lobby", "a_b", "a b", "a/b", "é", "x" * 51, "lobby\n", "١٢٣"]
)
def test_bad_room_names_get_403(room: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_room(room)
    assert (raised.value.code, raised.value.status) == ("invalid_room", 403)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b'{"message": "hi"}', "message_not_text", None),
        ("hi", "message_not_json", None),
        ('"hi"', "message_not_an_object", None),
        ("{}", "invalid_field", "Field 'message' is required."),
        ('{"message": null}', "invalid_field", "Field 'message' must be a string."),
        ('{"message": ""}', "invalid_field", "Field 'message' must be 1 to 4096 characters long."),
        ('{"message": "a", "to": "b"}', "invalid_field", "Field 'to' is not a known field."),
    ],
)
def test_bad_chat_messages_get_their_error(
    data: str | bytes, code: str, message: str | None
) -> None:
    with pytest.raises(ApiError) as raised:
        parse_chat_message(data)
    assert raised.value.code == code
    if message is not None:
        assert raised.value.body["error"]["message"] == message


def test_a_message_is_counted_in_characters() -> None:
    assert parse_chat_message('{"message": "%s"}' % ("世" * 4096)) == "世" * 4096
    with pytest.raises(ApiError):
        parse_chat_message('{"message": "%s"}' % ("世" * 4097))


@pytest.mark.parametrize(
    ("data", "too_big"),
    [
        ("a" * 65536, False),
        ("a" * 65537, True),
        ("é" * 32768, False),  # 65,536 bytes of UTF-8
        ("é" * 32769, True),
        (b"\0" * 65536, False),
        (b"\0" * 65537, True),
    ],
    ids=["64k-ascii", "64k+1-ascii", "64k-utf8", "64k+2-utf8", "64k-binary", "64k+1-binary"],
)
def test_the_size_limit_is_64_kib_of_utf8(data: str | bytes, too_big: bool) -> None:
    assert chat_message_too_big(data) is too_big


async def counts(members: Members, room: str) -> list[int]:
    """Three join, one leaves twice, then the others leave: the count after each change."""
    return [
        await members.join(room, "a"),
        await members.join(room, "b"),
        await members.join(room, "b"),  # the same member again is still one member
        await members.join(room, "c"),
        await members.leave(room, "b"),
        await members.leave(room, "b"),
        await members.leave(room, "a"),
        await members.leave(room, "c"),
    ]


EXPECTED = [1, 2, 2, 3, 2, 2, 1, 0]


async def test_local_members() -> None:
    members = LocalMembers()
    assert await counts(members, "room") == EXPECTED
    assert members.rooms == {}, "an empty room is forgotten"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except RedisError as error:
        await client.aclose()
        pytest.skip(f"not run: no Redis at {REDIS_URL} ({error}); CI has one at 127.0.0.1:6379")
    yield client
    await client.aclose()


async def test_redis_members_are_shared_and_expire(redis: Redis) -> None:
    prefix = f"parity-test-{uuid.uuid4().hex[:12]}"
    one, other = RedisMembers(redis, prefix), RedisMembers(redis, prefix)
    try:
        assert await counts(one, "room") == EXPECTED
        assert [await one.join("r", "a"), await other.join("r", "b")] == [1, 2]
        assert 0 < await redis.ttl(one.key("r")) <= 24 * 60 * 60
        # Concurrent joins each get the count just after their own change: 1 to 20, once each.
        joined = await asyncio.gather(*(one.join("crowd", f"m{i}") for i in range(20)))
        assert sorted(joined) == list(range(1, 21))
    finally:
        await redis.delete(one.key("room"), one.key("r"), one.key("crowd"))


ALLOWED = ["127.0.0.1", "localhost", "[::1]", ".example.org", "Example.COM"]
ORIGINS = [
    None,
    "null",
    "",
    "http://127.0.0.1",
    "http://127.0.0.1:8081",
    "https://localhost:1",
    "http://LOCALHOST",
    "ws://localhost",
    "http://localhost.",
    "http://evil.localhost",
    "http://localhost.evil",
    "http://[::1]:8000",
    "http://[::2]",
    "https://example.org",
    "https://chat.example.org",
    "https://deep.chat.example.org:8443",
    "https://example.org.evil",
    "https://badexample.org",
    "http://example.com",
    "http://www.example.com",
    "https://evil.example",
    "http://user:pass@localhost",
    "localhost",
    "file:///etc/passwd",
]


async def never_called(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The application a validator wraps: valid_origin() alone never calls it."""
    raise AssertionError("called")


@pytest.mark.parametrize("allowed", [ALLOWED, ["*"], ["localhost", "*"], []], ids=repr)
@pytest.mark.parametrize("origin", ORIGINS, ids=repr)
def test_the_origin_rule_is_channels_rule(origin: str | None, allowed: list[str]) -> None:
    """aiohttp's check, by hand, agrees with Channels' OriginValidator on ALLOWED_HOSTS values."""
    validator = OriginValidator(application=never_called, allowed_origins=allowed)
    parsed = urlparse(origin) if origin is not None else None
    assert origin_allowed(origin, allowed) is validator.valid_origin(parsed)


HOSTS = [
    "127.0.0.1",
    "127.0.0.1:8081",
    "LOCALHOST:1",
    "localhost.",
    "[::1]",
    "[::1]:8082",
    "::1",
    "example.org",
    "a.example.org:80",
    "badexample.org",
    "example.com",
    "www.example.com",
    "evil.example",
    "127.0.0.1,localhost",
    "127.0.0.1:x",
    "user@localhost",
    "",
]


@pytest.mark.parametrize("allowed", [ALLOWED, ["*"], []], ids=repr)
@pytest.mark.parametrize("host", HOSTS, ids=repr)
def test_the_host_rule_is_django_s_rule(host: str, allowed: list[str]) -> None:
    """aiohttp's check agrees with request.get_host(), which CommonMiddleware asks."""
    domain, _ = split_domain_port(host)
    assert host_allowed(host, tuple(allowed)) is bool(domain and validate_host(domain, allowed))
