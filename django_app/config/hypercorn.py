"""Hypercorn's configuration (`--config python:django_app.config.hypercorn`); CLI flags cannot set these."""

from shared.validation import WS_MAX_MESSAGE_BYTES

websocket_max_message_size = WS_MAX_MESSAGE_BYTES
