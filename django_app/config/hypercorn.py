"""Hypercorn settings its CLI cannot set: `--config python:django_app.config.hypercorn`."""

from shared.runtime.validation import WS_MAX_MESSAGE_BYTES, ws_ping_settings

websocket_max_message_size = WS_MAX_MESSAGE_BYTES
# Hypercorn pings idle websockets but never waits for the pong, so it cannot drop a dead peer;
# read_timeout could, but it would also cut SSE and long-poll clients that rightly send nothing.
websocket_ping_interval, _ = ws_ping_settings()
# Hypercorn runs its worker in a daemonic process (hypercorn 0.18.0, hypercorn/config.py:74 and
# hypercorn/run.py:130), and multiprocessing refuses a daemonic process children of its own: the
# worker processes of /cpu's pool (behaviour `cpu`) could not start. A plain process can have them.
daemon = False
