"""Websocket consumers; aiohttp_app/realtime/websockets.py has the same ones, in the same order."""

import json
import secrets
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from django_app.handshakes import refuse
from django_app.realtime.rooms import members
from shared.runtime.errors import ApiError
from shared.runtime.validation import chat_message_too_big, check_room, parse_chat_message


class ChatConsumer(AsyncWebsocketConsumer):
    room: str
    group: str
    member: str | None = None  # set once the connection is accepted
    sender: str  # in messages' `from`: the username, or the member id of a visitor

    async def connect(self) -> None:
        self.room = self.scope["url_route"]["kwargs"]["room"]
        try:
            check_room(self.room)
        except ApiError as error:
            await refuse(self.scope, self.base_send, error)
            return
        await self.accept()
        self.member = secrets.token_hex(8)
        user = self.scope["user"]  # AuthMiddlewareStack's, from the handshake's cookie (ws-auth)
        authenticated = user is not None and user.is_authenticated
        self.sender = user.get_username() if user is not None and authenticated else self.member
        # A group per room: the channel layer delivers a group's events to each member's channel.
        self.group = f"chat.{self.room}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        count = await members.join(self.room, self.member)
        await self.channel_layer.group_send(self.group, {"type": "chat.join", "members": count})

    async def disconnect(self, code: int) -> None:
        if self.member is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        count = await members.leave(self.room, self.member)
        await self.channel_layer.group_send(self.group, {"type": "chat.leave", "members": count})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        data = text_data if text_data is not None else bytes_data or b""
        # The server's own limit is 16 MiB (for every route); aiohttp's is set per response.
        if chat_message_too_big(data):
            await self.close(code=1009)
            return
        try:
            message = parse_chat_message(data)
        except ApiError as error:
            await self.send(text_data=json.dumps({"type": "error", **error.body}))
            return
        event = {"type": "chat.message", "room": self.room, "message": message, "from": self.sender}
        await self.channel_layer.group_send(self.group, event)

    # One handler per event type: the layer's "chat.message" calls chat_message, and so on.
    async def chat_message(self, event: dict[str, Any]) -> None:
        frame = {"type": "message", "room": event["room"], "message": event["message"]}
        await self.send(text_data=json.dumps({**frame, "from": event["from"]}))

    async def chat_join(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "join", "members": event["members"]}))

    async def chat_leave(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "leave", "members": event["members"]}))
