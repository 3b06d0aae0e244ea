"""Liveness and readiness, answered alike by both apps: each dependency's state, and the status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, Literal

from shared.runtime.errors import ApiError

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # a dependency that has not answered by then is down: no probe waits longer
LIVE_BODY = {"status": "live"}

type State = Literal["up", "down", "not used"]


async def state_of(name: str, check: Awaitable[object] | None) -> State:
    """ "up" once `check` (a query, a ping) completes within CHECK_SECONDS; "down" if it fails or
    takes longer; "not used" without one (no REDIS_URL)."""
    if check is None:
        return "not used"
    try:
        await asyncio.wait_for(check, CHECK_SECONDS)
    except Exception as error:  # whatever the client raises, the dependency is down
        logger.warning("Readiness: %s is down: %r", name, error)
        return "down"
    return "up"


def readiness(checks: Mapping[str, State]) -> dict[str, Any]:
    """GET /health/ready's body: each dependency's state; 503 not_ready, naming the ones down."""
    if down := [name for name, state in checks.items() if state == "down"]:
        raise ApiError("not_ready", down=" and ".join(down))
    return {"status": "ready", "checks": dict(checks)}
