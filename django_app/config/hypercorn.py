"""Hypercorn settings its CLI cannot set: `--config python:django_app.config.hypercorn`."""

from shared.validation import WS_MAX_MESSAGE_BYTES

websocket_max_message_size = WS_MAX_MESSAGE_BYTES
