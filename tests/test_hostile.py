"""Hostile and slow clients (http.toml's "hostile" rules), all at once against a server of each
target: who is dropped when, and whether another client is served meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest

from shared.harness.http_rules import HOSTILE_CHECKS, Rule, http_rules
from shared.harness.targets import PROJECT_ROOT, load_targets
from tests.plugins.servers import ServerPool, selected_targets

pytestmark = pytest.mark.hostile

HOSTILE = [rule for rule in http_rules() if rule.check == "hostile"]
SLACK = 5.0  # seconds past a documented timeout before a client still held counts as held
# How long a client is watched where the server has no timeout for it: held past this, it is
# held for as long as it keeps at it (the server has nothing that would drop it later).
HELD_FOR = 10.0
EVERY = 0.5  # seconds between the other client's requests
OPENING = 20  # connections being opened at once
REPORT = PROJECT_ROOT / "var" / "hostile.json"


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


@dataclass
class Run:
    """One target's run: each hostile rule's clients, and the other client's answers."""

    target: str
    watched: dict[str, Watched]
    latencies: list[float]  # seconds per answer; inf for a request that got none
    seconds: float


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


async def run(target: str, base_url: str) -> Run:
    """Every hostile rule's clients at once, each watched for its bound and SLACK (or HELD_FOR),
    while the other client asks."""
    holds = load_targets()[target].holds
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


@pytest.fixture(scope="module")
def hostile_run(servers: ServerPool, target: str) -> Run:
    """The run on a server of the target's own, started for it (the shared one serves the other
    tests); what it counted goes to var/hostile.json."""
    server = servers.spawn(target, f"{target}-hostile")
    try:
        result = asyncio.run(run(target, server.base_url))
    finally:
        server.stop()
    REPORT.parent.mkdir(exist_ok=True)
    found = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    found[target] = {
        "seconds": round(result.seconds, 1),
        "other client's answers": len(result.latencies),
        "slowest answer (s)": round(max(result.latencies, default=0.0), 2),
    } | {
        name: {"clients": len(w.dropped), "held": w.held, "last dropped (s)": round(w.longest, 1)}
        for name, w in result.watched.items()
    }
    REPORT.write_text(json.dumps(found, indent=2))
    return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_hostile[django-uvicorn-slow-header]`: the target (one run each), then the rule."""
    if "rule" not in metafunc.fixturenames:
        return
    metafunc.parametrize("target", selected_targets(metafunc.config), scope="module")
    rules = [rule for rule in http_rules() if rule.check in HOSTILE_CHECKS]
    metafunc.parametrize(
        "rule",
        [pytest.param(r, id=r.name, marks=pytest.mark.http_rule(r.name)) for r in rules],
    )


def test_hostile(hostile_run: Run, rule: Rule) -> None:
    if rule.check == "served-meanwhile":
        slow = [seconds for seconds in hostile_run.latencies if seconds > rule.wait]
        assert hostile_run.latencies, "the other client got no answer at all"
        assert not slow, (
            f"{len(slow)} of the other client's {len(hostile_run.latencies)} requests took over"
            f" {rule.wait} s (slowest: {max(slow):.1f} s) while the hostile clients were connected"
        )
        return
    watched = hostile_run.watched[rule.name]
    if watched.bound is None:
        why = f"held past {HELD_FOR} s: the server has no timeout for them (targets.toml's `holds`)"
    else:
        why = (
            f"still held {watched.bound + SLACK} s on; its documented timeout is {watched.bound} s"
        )
    assert not watched.held, f"{watched.held} of {rule.clients} {why}"
