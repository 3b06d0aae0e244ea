"""A raw HTTP/1.1 client: sends a request's exact bytes, reads the answer with h11 or names none."""

from __future__ import annotations

import asyncio
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import h11

READ_BYTES = 64 * 1024
BODY_LIMIT = 1024 * 1024  # what is kept of an answer's body; the rest is read and dropped

type Outcome = Literal["response", "closed", "timeout", "malformed"]


@dataclass(frozen=True)
class RawRequest:
    """A request as bytes on the wire, malformed on purpose where a test wants it.

    `Host` (the server's address) and `Content-Length` (of `body`) are added unless `headers`
    has them, or `add_host` / `add_length` is false; `newline` ends every line of the head.
    """

    method: str = "GET"
    target: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    version: str = "HTTP/1.1"
    newline: str = "\r\n"
    add_host: bool = True
    add_length: bool = True

    def names(self) -> set[str]:
        return {name.lower() for name, _ in self.headers}

    def all_headers(self, host: str) -> list[tuple[str, str]]:
        """Its headers as sent to `host` (host:port): with Host and Content-Length added."""
        headers = list(self.headers)
        names = self.names()
        if self.add_host and "host" not in names:
            headers.insert(0, ("Host", host))
        framed = names & {"content-length", "transfer-encoding"}
        if (
            self.add_length
            and not framed
            and (self.body or self.method in {"POST", "PUT", "PATCH"})
        ):
            headers.append(("Content-Length", str(len(self.body))))
        return headers

    def head(self, host: str) -> bytes:
        lines = [f"{self.method} {self.target} {self.version}"]
        lines += [f"{name}: {value}" for name, value in self.all_headers(host)]
        return (self.newline.join(lines) + self.newline * 2).encode("utf-8", "surrogateescape")

    def to_bytes(self, host: str) -> bytes:
        return self.head(host) + self.body

    def header(self, name: str) -> list[str]:
        """Every value given for `name`, in order."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def shell(self, base_url: str) -> str:
        """A command line that sends it: curl where curl sends it as it is, else printf | nc."""
        address = urlsplit(base_url)
        host = address.netloc
        if self._curl_can_send():
            return self._curl(base_url, host)
        return printf_nc(self.to_bytes(host), base_url)

    def _curl_can_send(self) -> bool:
        # curl writes CRLF, a method and target without spaces, HTTP/1.0 or 1.1, and a
        # Content-Length for --data-binary; it cannot leave Host out or send a header with no
        # colon-separated value of ours, nor a body without Content-Length framing.
        return (
            self.newline == "\r\n"
            and self.version in {"HTTP/1.1", "HTTP/1.0"}
            and self.method.isascii()
            and self.method.isalpha()
            and " " not in self.target
            and self.target.startswith("/")
            and self.add_host
            and self.add_length
            and "transfer-encoding" not in self.names()
            and "content-length" not in self.names()
            and all(_printable(name + value) for name, value in self.headers)
        )

    def _curl(self, base_url: str, host: str) -> str:
        words = ["curl", "-sS", "-i", "--path-as-is", "-X", self.method]
        if self.version == "HTTP/1.0":
            words.append("--http1.0")
        # curl's own Accept and User-Agent, unless the request has them: none of ours.
        for name in ("Accept", "User-Agent"):
            if name.lower() not in self.names():
                words += ["-H", f"{name}:"]
        for name, value in self.headers:
            words += ["-H", f"{name}: {value}" if value else f"{name};"]
        command = " ".join(shlex.quote(word) for word in words)
        if self.body:
            command += " --data-binary " + (
                shlex.quote(self.body.decode())
                if _printable(self.body.decode("utf-8", "replace")) and b"\r" not in self.body
                else f"@<(printf %s {_ansi_c(self.body)})"
            )
        target = base_url.rstrip("/") + self.target
        return f"{command} {shlex.quote(target)}"


def printf_nc(data: bytes, base_url: str) -> str:
    """A command line that sends `data` as it is to the server at `base_url`."""
    address = urlsplit(base_url)
    return f"printf %s {_ansi_c(data)} | nc {address.hostname} {address.port or 80}"


def _printable(text: str) -> bool:
    return all(char.isprintable() or char in "\n\t" for char in text) and "\ufffd" not in text


def _ansi_c(data: bytes) -> str:
    """Bytes as a bash $'...' string."""
    escaped = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte not in b"\\'" else f"\\x{byte:02x}"
        for byte in data
    )
    return f"$'{escaped}'"


@dataclass(frozen=True)
class Answer:
    """What came back: a response, a close before one, nothing in time, or bytes h11 refused."""

    outcome: Outcome
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    received: bytes = b""  # the bytes read, for an answer that is not a response
    seconds: float = 0.0
    detail: str = ""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        if self.outcome != "response":
            return f"{self.outcome} after {self.seconds:.1f} s ({self.detail or self.received!r})"
        return f"{self.status} {self.media_type or '(no type)'} {self.body[:300]!r}"


@dataclass
class RawConnection:
    """One connection: requests written as given, responses parsed by h11 one after another."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str
    parser: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    received: bytearray = field(default_factory=bytearray)

    @classmethod
    async def open(cls, base_url: str, wait: float) -> RawConnection:
        address = urlsplit(base_url)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address.hostname, address.port or 80), wait
        )
        return cls(reader, writer, address.netloc)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def expect(self, method: str, upgrade: bool = False) -> None:
        """Tell h11 what was asked (it frames the answer by it: HEAD has no body, 101 switches).
        Our bytes never pass through h11, which would refuse the malformed ones. After an answer
        h11 would not reuse the connection for (HTTP/1.0 with keep-alive), a new parser reads
        the next from where it stopped."""
        if self.parser.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}:
            self.parser.start_next_cycle()
        elif self.parser.our_state is not h11.IDLE:
            unread, _ = self.parser.trailing_data
            self.parser = h11.Connection(h11.CLIENT)
            if unread:  # h11 takes no data for the end of the connection
                self.parser.receive_data(unread)
        headers = [("Host", "parity")]
        if upgrade:
            headers += [("Connection", "Upgrade"), ("Upgrade", "websocket")]
        self.parser.send(h11.Request(method="HEAD" if method == "HEAD" else "GET",
                                     target="/", headers=headers))  # fmt: skip
        self.parser.send(h11.EndOfMessage())

    async def _next_event(self, deadline: float) -> Any:
        while True:
            event = self.parser.next_event()
            if event is not h11.NEED_DATA:
                return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(self.reader.read(READ_BYTES), remaining)
            self.received += data[: BODY_LIMIT - len(self.received)]
            self.parser.receive_data(data)

    async def response(
        self, method: str, *, wait: float, upgrade: bool = False, read_body: bool = True
    ) -> Answer:
        """The answer to the request just sent: its head, and its body unless `read_body` is
        false (a stream that may never end) or the server switched protocols. Nothing within
        `wait` seconds is the outcome `timeout`, not an exception: a hang is an answer here."""
        self.expect(method, upgrade)
        started = time.monotonic()
        deadline = started + wait
        self.received.clear()
        try:
            event = await self._next_event(deadline)
            while isinstance(event, h11.InformationalResponse) and event.status_code != 101:
                event = await self._next_event(deadline)  # 100 Continue and the like
            if isinstance(event, h11.ConnectionClosed):
                return self._answer("closed", started)
            assert isinstance(event, h11.Response | h11.InformationalResponse)
            answer = Answer(
                "response",
                status=event.status_code,
                headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers),
                seconds=time.monotonic() - started,
            )
            if event.status_code == 101 or not read_body:
                return answer
            body = bytearray()
            while not isinstance(event := await self._next_event(deadline), h11.EndOfMessage):
                if isinstance(event, h11.Data):
                    body += event.data[: BODY_LIMIT - len(body)]
            return replace(answer, body=bytes(body), seconds=time.monotonic() - started)
        except TimeoutError:
            return self._answer("timeout", started)
        except (ConnectionError, h11.RemoteProtocolError) as error:
            outcome: Outcome = "closed" if isinstance(error, ConnectionError) else "malformed"
            if not self.received and isinstance(error, h11.RemoteProtocolError):
                outcome = "closed"  # closed before a byte of the answer
            return self._answer(outcome, started, str(error))

    async def rest(self, wait: float) -> tuple[bytes, bool]:
        """What follows the answers read: the bytes the server sent after them (within `wait`
        seconds), and whether it closed the connection within that time."""
        unread, closed = self.parser.trailing_data
        rest = bytearray(unread)
        deadline = time.monotonic() + wait
        while not closed and (remaining := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(self.reader.read(READ_BYTES), remaining)
            except TimeoutError:
                break
            except ConnectionError:
                data = b""
            closed = not data
            rest += data[: BODY_LIMIT - len(rest)]
        return bytes(rest), closed

    def _answer(self, outcome: Outcome, started: float, detail: str = "") -> Answer:
        seconds = time.monotonic() - started
        return Answer(outcome, received=bytes(self.received), seconds=seconds, detail=detail)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


async def exchange(
    base_url: str,
    request: RawRequest,
    *,
    wait: float = 10.0,
    read_body: bool = True,
) -> Answer:
    """Send one request on a new connection and read its answer; the connection is closed after.
    A request that asks to upgrade (a websocket, h2c) is read as one: a 101 ends the exchange."""
    upgrade = bool(request.header("upgrade"))  # a 101 switches to it: websocket, or h2c
    started = time.monotonic()
    try:
        connection = await RawConnection.open(base_url, wait)
    except (OSError, TimeoutError) as error:
        return Answer("closed", seconds=time.monotonic() - started, detail=f"connect: {error}")
    try:
        try:
            await connection.send(request.to_bytes(connection.host))
        except ConnectionError:
            pass  # the server may have answered and closed before it read all of it
        return await connection.response(
            request.method, wait=wait, upgrade=upgrade, read_body=read_body
        )
    finally:
        await connection.close()


def header_lines(headers: Sequence[tuple[str, str]]) -> str:
    """Headers as `Name: value` lines, for messages."""
    return "\n".join(f"{name}: {value}" for name, value in headers)
