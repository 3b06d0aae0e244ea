"""Generated websocket conversations: messages of every JSON shape and size, on every target."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shared.harness.raw import RawRequest
from shared.runtime.validation import CHAT_MESSAGE_MAX_CHARS, CHAT_WS_MAX_MESSAGE_BYTES

WAIT = 5.0  # seconds for each answer a message should get: nothing by then is a hang
PATHS = ("/ws/echo", "/ws/greet", "/ws/chat/{room}")

type Frame = str | bytes


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, nested a few levels."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=8,
    )


def chat_messages() -> st.SearchStrategy[Any]:
    """What a chat member might send: the message object with a message of every length around
    the limits, the wrong types, other keys, or any JSON at all."""
    lengths = st.sampled_from([0, 1, CHAT_MESSAGE_MAX_CHARS, CHAT_MESSAGE_MAX_CHARS + 1])
    message = st.text(max_size=20) | lengths.map(lambda n: "a" * n) | json_values()
    good = st.builds(lambda m: {"message": m}, message)
    extra = st.builds(lambda m, k, v: {"message": m, k: v}, message, st.text(), json_values())
    return good | extra | json_values()


def frames() -> st.SearchStrategy[Frame]:
    """A text frame of JSON or not, a binary frame, or one up to the chat's 64 KiB limit.

    Not generated, as the spec's cases show them and the registry declares daphne's answers: an
    empty message (daphne sends none back) and one over the limit (daphne closes with 1011,
    not 1009)."""
    size = st.integers(CHAT_WS_MAX_MESSAGE_BYTES - 16, CHAT_WS_MAX_MESSAGE_BYTES)
    return st.one_of(
        chat_messages().map(json.dumps),
        st.text(min_size=1, max_size=40),
        st.binary(min_size=1, max_size=40),
        size.map(lambda n: json.dumps({"message": "a" * (n - 15)})),
        size.map(lambda n: b"b" * n),
    )


@dataclass(frozen=True)
class Conversation:
    """A websocket route and the frames sent on it, one after another."""

    path: str
    frames: tuple[Frame, ...]

    def __str__(self) -> str:
        shown = [f[:80] if len(f) <= 80 else f"{f[:40]!r}… ({len(f)})" for f in self.frames]
        return f"{self.path}: {shown}"


def conversations() -> st.SearchStrategy[Conversation]:
    return st.builds(
        Conversation,
        st.sampled_from(PATHS),
        st.lists(frames(), min_size=1, max_size=3).map(tuple),
    )


def heard(frame: Frame) -> str:
    """A frame as the targets are compared on: a JSON object without its member id (`from`,
    random per connection), anything else as it came."""
    if isinstance(frame, bytes):
        return f"binary {frame[:200]!r} ({len(frame)} bytes)"
    try:
        found = json.loads(frame)
    except ValueError:
        return f"text {frame[:200]!r} ({len(frame)} characters)"
    if isinstance(found, dict):
        found.pop("from", None)
    return f"json {json.dumps(found, sort_keys=True)[:300]}"


async def play_on(ws_url: str, origin: str, path: str, conversation: Conversation) -> list[str]:
    """Open `path`, send each frame and read what comes until the server is quiet: the
    frames heard, and how the connection ended."""
    heard_frames: list[str] = []
    try:
        async with connect(
            ws_url + path,
            origin=origin,  # type: ignore[arg-type]  # websockets types it as Origin, a str
            max_size=None,
            compression=None,
            open_timeout=WAIT,
            close_timeout=WAIT,
        ) as ws:
            if "/chat/" in path:
                heard_frames.append(await answer(ws))
            for frame in conversation.frames:
                await ws.send(frame)
                heard_frames.append(await answer(ws))
            await ws.close()
            heard_frames.append(f"closed {ws.close_code}")
    except InvalidStatus as refused:
        heard_frames.append(f"refused {refused.response.status_code}")
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        heard_frames.append(f"closed by the server {code}")
    except (OSError, TimeoutError) as error:
        heard_frames.append(f"failed: {error!r}")
    return heard_frames


async def answer(ws: Any) -> str:
    """The next frame, within WAIT: every route answers each message with one (an echo, a
    greeting, a broadcast to the sender too, an error frame), a chat its opening with a join."""
    try:
        return heard(await asyncio.wait_for(ws.recv(), WAIT))
    except TimeoutError:
        return "nothing"


async def play(
    conversation: Conversation, room: str, ws_urls: Mapping[str, str], origins: Mapping[str, str]
) -> dict[str, list[str]]:
    """The conversation on every target at once, a chat in `room` (a room of its own, so no
    earlier member is in it): what each heard."""
    names: Sequence[str] = list(ws_urls)
    path = conversation.path.format(room=room)
    heard_by = await asyncio.gather(
        *(play_on(ws_urls[name], origins[name], path, conversation) for name in names)
    )
    return dict(zip(names, heard_by, strict=True))


HANDSHAKE_PATHS = ("/ws/echo", "/ws/greet", "/ws/chat/{room}", "/ws/chat/Not-A-Room")
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's: 16 bytes in base64


@st.composite
def handshakes(draw: st.DrawFn) -> RawRequest:
    """A websocket handshake (RFC 6455 §4.1) with each header right, left out or wrong: the
    method, Upgrade, Connection, Sec-WebSocket-Key and -Version, Origin, a subprotocol, an
    extension. `{origin}` and `{room}` are filled in by `addressed`."""
    method = draw(st.sampled_from(["GET", "GET", "GET", "POST"]))
    path = draw(st.sampled_from(HANDSHAKE_PATHS))
    # Each header's values; None leaves it out.
    fields: dict[str, Sequence[str | None]] = {
        "Upgrade": ["websocket", "WebSocket", "h2c", None],
        "Connection": ["Upgrade", "keep-alive, Upgrade", "upgrade", "close", None],
        "Sec-WebSocket-Key": [KEY, "c2hvcnQ=", "not base64!", "", None],
        "Sec-WebSocket-Version": ["13", "8", "13, 8", "", None],
        "Origin": ["{origin}", "http://elsewhere.example", "null", "", None],
        "Sec-WebSocket-Protocol": [None, "chat", "chat, superchat"],
        "Sec-WebSocket-Extensions": [None, "permessage-deflate", "x-unknown"],
    }
    drawn = {name: draw(st.sampled_from(values)) for name, values in fields.items()}
    headers = tuple((name, value) for name, value in drawn.items() if value is not None)
    return RawRequest(method=method, target=path, headers=headers)


def addressed(request: RawRequest, origin: str, room: str) -> RawRequest:
    """The handshake for one server: its own origin where `{origin}` is, a room of its own."""
    headers = tuple((name, value.format(origin=origin)) for name, value in request.headers)
    return replace(request, target=request.target.format(room=room), headers=headers)
