"""What both apps' concurrency part shares: limits, body fields, the event log, records, lines."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol
from weakref import WeakKeyDictionary

from shared.runtime.errors import ApiError
from shared.runtime.validation import DELAY_MAX_SECONDS, Field, parse_int

FANOUT_MAX_CALLS = 50
STREAM_MAX_CHUNKS = 100
STREAM_MAX_INTERVAL = 1.0  # seconds between two lines of /stream
STREAMS_KEPT = 100  # the latest streams' records, for GET /streams/{request_id}
EVENT_BACKLOG = 100  # the latest events, for Last-Event-ID and long polls
EVENT_DATA_MAX_CHARS = 1000
POLL_MAX_SECONDS = 30.0
BLOCKING_MAX_SECONDS = 1.0  # /pitfalls/blocking holds the whole event loop this long at most
JOBS_KEPT = 1000  # aiohttp keeps the latest jobs in memory; Django keeps them in its database

EVENT_FIELDS: Mapping[str, Field] = {"data": Field(str, max_length=EVENT_DATA_MAX_CHARS)}
JOB_FIELDS: Mapping[str, Field] = {"seconds": Field(float, minimum=0, maximum=DELAY_MAX_SECONDS)}

type JobStatus = Literal["pending", "running", "done", "failed"]
type StreamState = Literal["streaming", "complete", "stopped"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what text/event-stream takes for the end of a line


async def gather_bounded[T](calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Every call's result, in order, with at most `limit` of them running at once (a Semaphore);
    the first to fail cancels the others (a TaskGroup), and its error is raised alone."""
    semaphore = asyncio.Semaphore(limit)

    async def bounded(call: Callable[[], Awaitable[T]]) -> T:
        await semaphore.acquire()  # the call starts once fewer than `limit` are running
        result = await call()
        # Released when the call succeeds only: a call that fails keeps its place, so that no
        # other starts before the TaskGroup, told of the failure a moment later, cancels them all.
        semaphore.release()
        return result

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(bounded(call)) for call in calls]
    except ExceptionGroup as failed:
        # The TaskGroup raises the errors it met as a group: the first is the one that cancelled
        # the rest (others may have failed meanwhile), and the catalogue's error to answer.
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


def failing_call(status: int) -> tuple[float, int]:
    """What /fanout asks the upstream for in a call that is to fail (`fail`): a 503, or the
    5xx the other calls ask for (whichever fails first, the answer is the same), after 0.2 s:
    time enough for the calls started with it to reach the upstream before they are cancelled."""
    return 0.2, status if status >= 500 else 503


def parse_upstream_status(raw: str | None) -> int:
    """What /fanout asks the upstream to answer with: 200, or a 5xx to fail with."""
    expected = "200 or an integer from 500 to 599"
    try:
        status = parse_int(raw, "status", 200, 599)
    except ApiError as error:
        if error.code == "missing_parameter":
            raise
        raise ApiError("invalid_parameter", name="status", expected=expected) from None
    if 200 < status < 500:
        raise ApiError("invalid_parameter", name="status", expected=expected)
    return status


def parse_last_event_id(raw: str | None) -> int | None:
    """The Last-Event-ID header an EventSource sends when it reconnects: an event id, or none."""
    if raw is None:
        return None
    try:
        return parse_int(raw, "Last-Event-ID", 0)
    except ApiError:
        raise ApiError("invalid_header", name="Last-Event-ID", expected="an integer >= 0") from None


@dataclass(frozen=True)
class Event:
    id: int
    data: str

    def to_json(self) -> dict[str, int | str]:
        return {"id": self.id, "data": self.data}

    def to_sse(self) -> str:
        """The event in text/event-stream: its id, a `data:` line per line of data, a blank line."""
        data = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(self.data))
        return f"id: {self.id}\n{data}\n"


class EventLog:
    """Events with increasing ids in a bounded backlog; one publish wakes every waiting reader.

    This one lives in one process (the embedded default); shared/runtime/redis_state.py has the
    log that every process of a target shares through Redis, with the same methods.
    """

    def __init__(self, backlog: int = EVENT_BACKLOG) -> None:
        self._events: deque[Event] = deque(maxlen=backlog)
        self._last_id = 0
        self._wakeups = 0  # how many times readers were woken: a reader waits for the next one
        self._conditions: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Condition] = (
            WeakKeyDictionary()
        )
        self.closed = False

    @property
    def _published(self) -> asyncio.Condition:
        """The running loop's condition (a Condition is bound to the first loop that waits on
        it): a server runs one loop per process; under WSGI each request runs in its own."""
        loop = asyncio.get_running_loop()
        if loop not in self._conditions:
            self._conditions[loop] = asyncio.Condition()
        return self._conditions[loop]

    async def cursor(self, after: int | None) -> int:
        """Where a reader starts: after the id it names, or after the latest event.

        Ids start at 1 again when the log does: an id beyond the latest means the latest.
        """
        latest = await self.latest()
        return latest if after is None else min(after, latest)

    async def latest(self) -> int:
        return self._last_id

    async def after(self, cursor: int) -> list[Event]:
        """The events after `cursor` still in the backlog, oldest first."""
        return [event for event in self._events if event.id > cursor]

    async def publish(self, data: str) -> Event:
        self._last_id += 1
        event = Event(self._last_id, data)
        self._events.append(event)
        await self.wake()
        return event

    async def wake(self) -> None:
        """Every waiting reader looks at the backlog again."""
        async with self._published:
            self._wakeups += 1
            self._published.notify_all()

    async def wait(self, cursor: int, seconds: float) -> list[Event]:
        """The events after `cursor` still in the backlog, once there is one; [] after `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                while not self.closed:
                    # Counted before reading: a publish after the read has woken us by then.
                    wakeups = self._wakeups
                    if found := await self.after(cursor):
                        return found
                    async with self._published:
                        while self._wakeups == wakeups:
                            await self._published.wait()
        except TimeoutError:
            pass
        return await self.after(cursor)

    async def close(self) -> None:
        """Wake every reader for good: streams end, polls answer (at shutdown)."""
        self.closed = True
        await self.wake()


async def sse_frames(log: EventLog, cursor: int, keepalive: float) -> AsyncGenerator[str, None]:
    """`: open`, then each event after `cursor` as it is published, `: keep-alive` when quiet."""
    yield ": open\n\n"
    while not log.closed:
        events = await log.wait(cursor, keepalive)
        for event in events:
            yield event.to_sse()
            cursor = event.id
        if not events and not log.closed:
            yield ": keep-alive\n\n"


@dataclass
class StreamRecord:
    """How far one /stream response got, and how it ended: what GET /streams/{id} shows."""

    request_id: str
    chunks: int
    produced: int = 0
    state: StreamState = "streaming"

    @property
    def key(self) -> str:
        return self.request_id

    def to_json(self) -> dict[str, str | int]:
        return {
            "request_id": self.request_id,
            "chunks": self.chunks,
            "produced": self.produced,
            "state": self.state,
        }


class Record(Protocol):
    """What Records keeps: a dataclass with a key, whose to_json() its constructor takes back."""

    @property
    def key(self) -> str: ...

    def to_json(self) -> Mapping[str, object]: ...


class Records[R: Record]:
    """The latest records, by key, in this process (the embedded default); redis_state.py
    keeps them in Redis for every process, with the same methods."""

    def __init__(self, kept: int) -> None:
        self._records: OrderedDict[str, R] = OrderedDict()
        self._kept = kept

    async def save(self, record: R) -> None:
        self._records[record.key] = record
        self._records.move_to_end(record.key)
        while len(self._records) > self._kept:
            self._records.popitem(last=False)

    async def get(self, key: str) -> R | None:
        return self._records.get(key)


async def lines(
    record: StreamRecord, interval: float, records: Records[StreamRecord]
) -> AsyncGenerator[str, None]:
    """`line k of N`, one every `interval` s, produced as they are sent and saved in `records`;
    `finally` tells how it ended: a client that goes away stops it (Django cancels it; aiohttp's
    write raises)."""
    try:
        for number in range(1, record.chunks + 1):
            if number > 1:
                await asyncio.sleep(interval)
            record.produced = number
            await records.save(record)
            yield f"line {number} of {record.chunks}\n"
        record.state = "complete"
    finally:
        if record.state != "complete":
            record.state = "stopped"
        await records.save(record)
