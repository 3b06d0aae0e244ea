"""Websocket consumers; aiohttp_app/accounts/websockets.py has the same ones, in the same order."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from django_app.handshakes import refuse
from shared.runtime.errors import ApiError


# Channels' AuthMiddlewareStack (config/asgi.py) put the session's user in the scope, from the
# handshake's cookie, before any consumer runs.
class MeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope["user"]
        if user is None or not user.is_authenticated:
            await refuse(self.scope, self.base_send, ApiError("websocket_not_authenticated"))
            return
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "username": user.get_username()}))
