"""The neutral client: runs one spec case against one server with httpx and websockets."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shared.spec import HttpCase, HttpExpect, Spec, WsCase, WsStep

TIMEOUT = 30.0  # per request or websocket step: generous, a hang still fails


def check_subset(expected: Any, actual: Any, where: str = "body") -> None:
    """Every key of `expected` is in `actual` with a matching value (recursively for objects)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} in {actual!r}"
            check_subset(value, actual[key], f"{where}.{key}")
    else:
        assert expected == actual, f"{where}: expected {expected!r}, got {actual!r}"


def check_response(spec: Spec, expect: HttpExpect, response: httpx.Response) -> None:
    summary = f"{response.request.method} {response.request.url} -> {response.status_code}"
    assert response.status_code == expect.status, (
        f"{summary}, expected {expect.status}: {response.text[:500]!r}"
    )
    for name, value in expect.headers.items():
        assert response.headers.get(name) == value, (
            f"{summary}: header {name} is {response.headers.get(name)!r}, expected {value!r}"
        )
    for name, pattern in expect.header_patterns.items():
        actual = response.headers.get(name)
        assert actual is not None and re.fullmatch(pattern, actual), (
            f"{summary}: header {name} is {actual!r}, expected to match {pattern!r}"
        )
    if expect.text is not None:
        assert response.text == expect.text, (
            f"{summary}: body {response.text!r}, expected {expect.text!r}"
        )
    if expect.regex is not None:
        assert re.fullmatch(expect.regex, response.text, re.DOTALL), (
            f"{summary}: body {response.text[:500]!r} does not match {expect.regex!r}"
        )
    if expect.json is not None or expect.json_subset is not None or expect.error is not None:
        try:
            body = response.json()
        except json.JSONDecodeError:
            raise AssertionError(f"{summary}: body is not JSON: {response.text[:500]!r}") from None
        if expect.json is not None:
            assert body == expect.json, f"{summary}: body {body!r}, expected {expect.json!r}"
        if expect.json_subset is not None:
            check_subset(expect.json_subset, body)
        if expect.error is not None:
            wanted = spec.error_body(expect.error)
            assert body == wanted, f"{summary}: body {body!r}, expected {wanted!r}"


async def run_http_case(spec: Spec, base_url: str, case: HttpCase) -> None:
    request = case.request
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client:

        async def send() -> httpx.Response:
            return await client.request(
                request.method,
                request.path,
                params=dict(request.query),
                headers=dict(request.headers),
                content=request.body,
            )

        started = time.perf_counter()
        responses = await asyncio.gather(*(send() for _ in range(case.concurrency)))
        elapsed = time.perf_counter() - started
    for response in responses:
        check_response(spec, case.expect, response)
    if case.elapsed is not None:
        what = f"{case.concurrency} x {request.method} {request.path}"
        assert elapsed >= case.elapsed.min, (
            f"{what} took {elapsed:.3f} s, expected >= {case.elapsed.min}"
        )
        if case.elapsed.max is not None:
            assert elapsed <= case.elapsed.max, (
                f"{what} took {elapsed:.3f} s, expected <= {case.elapsed.max}"
            )


async def run_ws_step(ws: ClientConnection, step: WsStep) -> None:
    match step.kind:
        case "send_text":
            assert step.payload is not None
            await ws.send(step.payload.as_text(), text=True)
        case "send_bytes":
            assert step.payload is not None
            await ws.send(step.payload.as_bytes(), text=False)
        case "send_json":
            assert step.payload is not None
            await ws.send(json.dumps(step.payload.json), text=True)
        case "expect_text" | "expect_bytes" | "expect_json":
            assert step.payload is not None
            try:
                message = await asyncio.wait_for(ws.recv(), TIMEOUT)
            except ConnectionClosed as closed:
                raise AssertionError(f"{step.describe()}: the server closed ({closed})") from None
            if step.kind == "expect_bytes":
                assert isinstance(message, bytes), f"{step.describe()}: got text {message[:80]!r}"
                expected: Any = step.payload.as_bytes()
                assert message == expected, f"{step.describe()}: got {len(message)} other bytes"
            elif step.kind == "expect_text":
                assert isinstance(message, str), f"{step.describe()}: got bytes {message[:80]!r}"
                assert message == step.payload.as_text(), (
                    f"{step.describe()}: got {message[:200]!r}"
                )
            else:
                assert isinstance(message, str), f"{step.describe()}: got bytes {message[:80]!r}"
                assert json.loads(message) == step.payload.json, (
                    f"{step.describe()}: got {message!r}"
                )
        case "close":
            assert step.code is not None
            await asyncio.wait_for(ws.close(step.code), TIMEOUT)
        case "expect_close":
            try:
                extra = await asyncio.wait_for(ws.recv(), TIMEOUT)
                raise AssertionError(f"{step.describe()}: got a message instead: {extra!r:.200}")
            except ConnectionClosed:
                pass
            received = ws.protocol.close_rcvd
            assert received is not None, f"{step.describe()}: no close frame received"
            assert received.code == step.code, f"{step.describe()}: got close {received.code}"


async def run_ws_case(ws_base_url: str, case: WsCase) -> None:
    headers: Mapping[str, str] = dict(case.headers)
    try:
        async with connect(
            ws_base_url + case.path,
            additional_headers=headers,
            max_size=None,  # the server's limit is under test, not the client's
            compression=None,
            open_timeout=TIMEOUT,
            close_timeout=TIMEOUT,
        ) as ws:
            for index, step in enumerate(case.steps):
                try:
                    await run_ws_step(ws, step)
                except AssertionError as error:
                    raise AssertionError(f"step {index + 1}: {error}") from None
    except InvalidStatus as error:
        raise AssertionError(f"handshake refused: HTTP {error.response.status_code}") from None
