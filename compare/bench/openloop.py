"""Open-loop HTTP load at fixed arrival rates: latency counted from each request's intended time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import aiohttp
import numpy as np

from compare.bench.load import HttpLoad
from compare.bench.scenarios import counting_session, new_event_loop, percentiles

MAX_CONNECTIONS = 512  # more requests in flight wait for a connection, their clock running
LAG_NOTE_MS = 5.0  # the sender itself this late at p99: the step measured the generator too
TRICKLE_LENGTH = 1_000_000  # bytes a slow upload announces: it never gets there
HOLDS_ACHIEVED = 0.95  # a step holds when at least this share of its offered rate was answered


@dataclass(frozen=True)
class Step:
    """One arrival rate of a ladder: what was offered, answered, and how late."""

    rate: float
    offered: int
    answered: int  # with the expected status, in time
    errors: int  # another status, a connection error, or no answer within the timeout
    achieved_rps: float  # answered / the sending window
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    send_lag_p99_ms: float  # how late the generator itself sent, at p99
    connections: int  # connections the generator opened

    def holds(self, bound_ms: float) -> bool:
        """p99 under the bound, every request answered as expected, the rate sustained."""
        return (
            self.errors == 0
            and self.p99_ms <= bound_ms
            and self.achieved_rps >= HOLDS_ACHIEVED * self.rate
        )

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


def capacity(steps: Sequence[Step], bound_ms: float) -> float:
    """The highest rate up to which every step of the ladder held (0: not even the lowest)."""
    best = 0.0
    for step in sorted(steps, key=lambda s: s.rate):
        if not step.holds(bound_ms):
            break
        best = step.rate
    return best


def schedule(rate: float, seconds: float) -> list[float]:
    """The intended send times, in seconds from the start: one every 1/rate s."""
    return [i / rate for i in range(max(1, round(rate * seconds)))]


async def fixed_rate(
    base_url: str, load: HttpLoad, rate: float, seconds: float, patience: float
) -> Step:
    """Send `load` at `rate` requests/s for `seconds`, each at its intended time whatever the
    answers before it: a request finds a free connection, opens one, or waits for one (up to
    MAX_CONNECTIONS), and its latency runs from its intended time to its last byte; one
    unanswered `patience` seconds after it was sent is an error."""
    session, opened = counting_session(base_url, MAX_CONNECTIONS)
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    clock = time.perf_counter  # not loop.time(): uvloop's counts whole milliseconds
    headers = dict(load.headers)
    within = aiohttp.ClientTimeout(total=patience)

    async def send(intended: float) -> None:
        nonlocal errors
        try:
            async with session.request(
                load.method, load.path, data=load.body, headers=headers, timeout=within
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            errors += 1
            return
        if response.status != load.expect_status:
            errors += 1
            return
        latencies.append(clock() - intended)

    times = schedule(rate, seconds)
    async with session:
        start = clock() + 0.01
        pending: set[asyncio.Task[None]] = set()
        for offset in times:
            intended = start + offset
            if (wait := intended - clock()) > 0:
                await asyncio.sleep(wait)
            lags.append(clock() - intended)
            pending.add(asyncio.create_task(send(intended)))
        window = max(clock() - start, times[-1] + 1 / rate)
        _, late = await asyncio.wait(pending, timeout=patience)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    errors += len(late)
    spread = percentiles(latencies)
    lag_p99 = float(np.percentile(lags, 99, method="inverted_cdf")) * 1000
    return Step(
        rate=rate, offered=len(times), answered=len(latencies), errors=errors,
        achieved_rps=len(latencies) / window, p50_ms=spread["p50"], p90_ms=spread["p90"],
        p99_ms=spread["p99"], max_ms=spread["max"], send_lag_p99_ms=lag_p99,
        connections=opened.count,
    )  # fmt: skip


def run_step(base_url: str, load: HttpLoad, rate: float, seconds: float, timeout: float) -> Step:
    return asyncio.run(
        fixed_rate(base_url, load, rate, seconds, timeout), loop_factory=new_event_loop
    )


def ladder_metrics(steps: Sequence[Step], bound_ms: float) -> dict[str, float]:
    """The capacity and, for each rate, p50, p99 and the rate achieved (keys `p99_ms@400`)."""
    metrics = {"capacity_rps": capacity(steps, bound_ms)}
    for step in steps:
        rate = f"{step.rate:g}"
        metrics |= {
            f"p50_ms@{rate}": step.p50_ms,
            f"p99_ms@{rate}": step.p99_ms,
            f"achieved_rps@{rate}": step.achieved_rps,
        }
    return metrics


def ladder_notes(steps: Sequence[Step], bound_ms: float) -> list[str]:
    notes = [
        f"at {step.rate:g}/s the generator itself sent {step.send_lag_p99_ms:.1f} ms late at p99"
        for step in steps
        if step.send_lag_p99_ms > LAG_NOTE_MS
    ]
    if steps and steps[-1].holds(bound_ms):
        notes.append(f"every rate held, up to {steps[-1].rate:g}/s: the capacity is higher")
    return notes


def curve(extra: Mapping[str, Sequence[float]], name: str) -> dict[float, list[float]]:
    """From a cell's metrics over the rounds, `name` (p50_ms, p99_ms) at each rate."""
    found: dict[float, list[float]] = {}
    for key, values in extra.items():
        metric, _, rate = key.partition("@")
        if metric == name and rate:
            found[float(rate)] = list(values)
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Interference:
    """One rate measured alone, then again while `holders` requests are held open."""

    alone: Step
    beside: Step
    holders: int
    held: int  # of the holders, still open when the second measurement ended

    def metrics(self) -> dict[str, float]:
        return {
            "p50_ms": self.beside.p50_ms,
            "p99_ms": self.beside.p99_ms,
            "p50_alone_ms": self.alone.p50_ms,
            "p99_alone_ms": self.alone.p99_ms,
            "p99_ratio": self.beside.p99_ms / self.alone.p99_ms if self.alone.p99_ms else 0.0,
            "holders": float(self.holders),
            "held": float(self.held),
            "rate": self.beside.rate,
        }


async def beside_held(
    base_url: str,
    load: HttpLoad,
    rate: float,
    seconds: float,
    patience: float,
    hold: HttpLoad,
    holders: int,
    trickle: float = 0.0,
) -> Interference:
    """`load` at `rate` alone, then with `holders` requests of `hold` open (long polls, event
    streams): each holder sends its request and reads the answer until it ends or the
    measurement does; how many stayed open says whether the server held them all. With
    `trickle`, each holder is a slow upload instead: a body of TRICKLE_LENGTH bytes announced,
    sent at `trickle` bytes/s."""
    alone = await fixed_rate(base_url, load, rate, seconds, patience)
    session, opened = counting_session(base_url, holders)

    async def slowly() -> AsyncIterator[bytes]:
        chunk = b" " * max(1, round(trickle / 10))
        while True:
            yield chunk
            await asyncio.sleep(0.1)

    async def hold_one() -> None:
        headers = dict(hold.headers)
        if trickle:
            headers |= {"Content-Type": "application/json", "Content-Length": str(TRICKLE_LENGTH)}
        async with session.request(
            hold.method, hold.path, headers=headers, timeout=aiohttp.ClientTimeout(),
            data=slowly() if trickle else hold.body,
        ) as response:  # fmt: skip
            await response.read()

    async with session:
        tasks = [asyncio.create_task(hold_one()) for _ in range(holders)]
        with contextlib.suppress(TimeoutError):  # every holder connected, or the patience
            await asyncio.wait_for(opened.full.wait(), patience)
        await asyncio.sleep(0.2)  # and its request read
        beside = await fixed_rate(base_url, load, rate, seconds, patience)
        held = sum(not task.done() for task in tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Interference(alone, beside, holders, held)


def run_beside_held(
    base_url: str,
    load: HttpLoad,
    rate: float,
    seconds: float,
    timeout: float,
    hold: HttpLoad,
    holders: int,
    trickle: float = 0.0,
) -> Interference:
    return asyncio.run(
        beside_held(base_url, load, rate, seconds, timeout, hold, holders, trickle),
        loop_factory=new_event_loop,
    )
