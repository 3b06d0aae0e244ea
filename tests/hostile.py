"""Hostile and slow clients (http.toml's "hostile" rules), all at once against a server: who is
dropped when, and whether another client is served meanwhile (tests/test_hostile.py on every
target, tests/test_compose_stack.py through nginx)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.harness.http_rules import HOSTILE_CHECKS, Rule, http_rules

HOSTILE = [rule for rule in http_rules() if rule.check == "hostile"]
RULES = [rule for rule in http_rules() if rule.check in HOSTILE_CHECKS]  # and served-meanwhile
# Seconds past a documented timeout before a client still held counts as held: the whole suite's
# run on two busy cores once saw a slow body dropped more than 5 s past granian's.
SLACK = 10.0
# How long a client is watched where the server has no timeout for it: held past this, it is
# held for as long as it keeps at it (the server has nothing that would drop it later).
HELD_FOR = 10.0
EVERY = 0.5  # seconds between the other client's requests
OPENING = 20  # connections being opened at once


@dataclass
class Watched:
    """What became of one rule's clients: when each was dropped (None: still held at the end)."""

    rule: str
    bound: float | None  # the server's documented timeout, if it has one
    dropped: list[float | None] = field(default_factory=list)

    @property
    def held(self) -> int:
        return sum(seconds is None for seconds in self.dropped)

    @property
    def longest(self) -> float:
        return max((seconds or 0.0) for seconds in self.dropped)

    def counted(self) -> dict[str, Any]:
        return {
            "clients": len(self.dropped),
            "held": self.held,
            "last dropped (s)": round(self.longest, 1),
        }


@dataclass
class Run:
    """One target's run: each hostile rule's clients, and the other client's answers."""

    target: str
    watched: dict[str, Watched]
    latencies: list[float]  # seconds per answer; inf for a request that got none
    seconds: float

    def counted(self) -> dict[str, Any]:
        """What the run counted: its length, the other client's answers and the slowest, and when
        each rule's last client was dropped."""
        return {
            "seconds": round(self.seconds, 1),
            "other client's answers": len(self.latencies),
            "slowest answer (s)": round(max(self.latencies, default=0.0), 2),
        } | {name: watched.counted() for name, watched in self.watched.items()}


async def hostile_client(
    base_url: str, rule: Rule, watch: float, opening: asyncio.Semaphore
) -> float | None:
    """One client of `rule`: its request, then its drip a byte a second; the seconds from its
    request (or, with no drip, from the answer to it) until the server closed the connection,
    or None if it was still open `watch` s after. Connections open a few at a time, as a server's
    listen backlog (hypercorn's: 100) takes them."""
    address = urlsplit(base_url)
    async with opening:
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        [request] = rule.wire(address.netloc)
        writer.write(request)
        await writer.drain()
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < watch:
            if rule.drip:
                writer.write(rule.drip.encode())
                await writer.drain()
            wait = 1.0 if rule.drip else watch - elapsed  # the next drip, or the end
            try:
                if not await asyncio.wait_for(reader.read(64 * 1024), wait):
                    return time.monotonic() - started
            except TimeoutError:
                continue
            if not rule.drip:
                started = time.monotonic()  # the answer: the keep-alive timeout starts now
        return None
    except ConnectionError:
        return time.monotonic() - started
    finally:
        writer.close()


async def other_client(base_url: str, stop: asyncio.Event, latencies: list[float]) -> None:
    """Another client, a request every EVERY s on a new connection: how long each answer took."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                answer = await client.get("/json", headers={"Connection": "close"})
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.monotonic() - started if ok else float("inf"))
            await asyncio.sleep(EVERY)


async def run(target: str, base_url: str, holds: Mapping[str, float]) -> Run:
    """Every hostile rule's clients at once against `base_url`, each watched for its bound in
    `holds` and SLACK (or HELD_FOR), while the other client asks."""
    started = time.monotonic()
    stop = asyncio.Event()
    latencies: list[float] = []
    other = asyncio.create_task(other_client(base_url, stop, latencies))
    watched = {rule.name: Watched(rule.name, holds.get(rule.name)) for rule in HOSTILE}

    opening = asyncio.Semaphore(OPENING)

    async def clients(rule: Rule) -> None:
        bound = holds.get(rule.name)
        watch = bound + SLACK if bound is not None else HELD_FOR
        watched[rule.name].dropped = list(
            await asyncio.gather(
                *(hostile_client(base_url, rule, watch, opening) for _ in range(rule.clients))
            )
        )

    await asyncio.gather(*(clients(rule) for rule in HOSTILE))
    stop.set()
    await other
    return Run(target, watched, latencies, time.monotonic() - started)


def failure(run: Run, rule: Rule) -> str | None:
    """What `run` broke of `rule` (a hostile client held past its bound, or the other client
    left waiting), or None."""
    if rule.check == "served-meanwhile":
        if not run.latencies:
            return "the other client got no answer at all"
        slow = [seconds for seconds in run.latencies if seconds > rule.wait]
        if slow:
            return (
                f"{len(slow)} of the other client's {len(run.latencies)} requests took over"
                f" {rule.wait} s (slowest: {max(slow):.1f} s) while the hostile clients were"
                " connected"
            )
        return None
    watched = run.watched[rule.name]
    if not watched.held:
        return None
    if watched.bound is None:
        why = f"held past {HELD_FOR} s: the server has no timeout for them (targets.toml's `holds`)"
    else:
        why = (
            f"still held {watched.bound + SLACK} s on; its documented timeout is {watched.bound} s"
        )
    return f"{watched.held} of {rule.clients} {rule.name} clients {why}"
