"""The raw client (shared/harness/raw.py) against a socket server that answers scripted bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.harness.raw import RawConnection, RawRequest, exchange


@asynccontextmanager
async def serving(
    answer: bytes | None, *, close: bool = True
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server on a free port that reads one request head, records it, and writes `answer`
    (None: nothing), then closes the connection or holds it open."""
    heads: list[bytes] = []
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        if answer is not None:
            writer.write(answer)
            await writer.drain()
        if close:
            writer.close()
        else:
            held.append(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", heads
        for writer in held:
            writer.close()


async def test_a_response_is_read_with_its_headers_and_body() -> None:
    reply = (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    async with serving(reply) as (url, heads):
        answer = await exchange(url, RawRequest(target="/x", headers=(("A", "1"), ("A", "2"))))
    assert (answer.outcome, answer.status, answer.media_type, answer.json()) == (
        "response", 404, "application/json", {}
    )  # fmt: skip
    assert heads[0].startswith(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert heads[0].endswith(b"\r\nA: 1\r\nA: 2\r\n\r\n"), "both values of a repeated header go"


async def test_a_body_gets_its_content_length_unless_the_request_frames_it() -> None:
    request = RawRequest(method="POST", body=b"abc")
    assert b"Content-Length: 3\r\n" in request.to_bytes("h")
    chunked = RawRequest(
        method="POST", headers=(("Transfer-Encoding", "chunked"),), body=b"0\r\n\r\n"
    )
    assert b"Content-Length" not in chunked.to_bytes("h")
    assert b"Host" not in RawRequest(add_host=False).to_bytes("h")


async def test_no_answer_in_time_is_a_timeout_not_an_exception() -> None:
    async with serving(None, close=False) as (url, _):
        answer = await exchange(url, RawRequest(), wait=0.3)
    assert answer.outcome == "timeout" and answer.seconds >= 0.3


async def test_a_close_before_any_answer_is_closed() -> None:
    async with serving(None) as (url, _):
        answer = await exchange(url, RawRequest())
    assert answer.outcome == "closed"


async def test_bytes_that_are_not_http_are_malformed_and_kept() -> None:
    async with serving(b"hello there\r\n\r\n") as (url, _):
        answer = await exchange(url, RawRequest())
    assert answer.outcome == "malformed" and answer.received == b"hello there\r\n\r\n"


async def test_a_stream_is_read_to_its_head_only() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    async with serving(reply, close=False) as (url, _):
        answer = await exchange(url, RawRequest(), read_body=False, wait=2)
    assert (answer.outcome, answer.status, answer.media_type) == (
        "response", 200, "text/event-stream"
    )  # fmt: skip


def test_a_request_curl_can_send_is_a_curl_line_else_printf_to_nc() -> None:
    request = RawRequest(method="PATCH", target="/items/1", headers=(("X-A", "it's"),), body=b"{}")
    assert request.shell("http://127.0.0.1:8081") == (
        "curl -sS -i --path-as-is -X PATCH -H Accept: -H User-Agent: -H 'X-A: it'\"'\"'s'"
        " --data-binary '{}' http://127.0.0.1:8081/items/1"
    )
    bare_lf = RawRequest(target="/json", newline="\n")
    assert bare_lf.shell("http://127.0.0.1:8081") == (
        r"printf %s $'GET /json HTTP/1.1\x0aHost: 127.0.0.1:8081\x0a\x0a' | nc 127.0.0.1 8081"
    )


async def test_a_connection_h11_would_close_is_read_on_and_what_follows_is_kept() -> None:
    """An HTTP/1.0 answer with keep-alive, then another: h11 would read no more after the first."""
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
    async with serving(answer * 2 + b"extra") as (url, _):
        connection = await RawConnection.open(url, 2)
        await connection.send(RawRequest(version="HTTP/1.0").to_bytes("h"))
        first = await connection.response("GET", wait=2)
        second = await connection.response("GET", wait=2)
        rest, closed = await connection.rest(2)
        await connection.close()
    assert (first.body, second.body, rest, closed) == (b"hi", b"hi", b"extra", True)
