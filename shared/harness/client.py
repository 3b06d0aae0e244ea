"""The neutral client: runs one spec case against one server with httpx and websockets."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response

from shared.spec import (
    ErrorRef,
    FormPart,
    HttpCase,
    HttpExpect,
    HttpRequest,
    HttpStep,
    Spec,
    WsCase,
    WsStep,
    header_pairs,
    substitute,
)
from shared.spec.variables import builtin_variables

TIMEOUT = 30.0  # per request or websocket step: generous, a hang still fails
# Every HTTP response of both apps carries these (behaviour `middleware`, 30-concurrency.toml);
# every response of every HTTP case is checked for them. Websocket handshakes are not.
EVERY_RESPONSE_HEADERS = {
    "x-request-id": r"[A-Za-z0-9._-]{1,64}",
    "server-timing": r"app;dur=\d+\.\d",
}


# httpx builds a TLS context for every client it makes (about 40 ms, most of a case's time); the
# servers speak plain HTTP, but a --target-url may be https, so one context serves every client.
_TLS = ssl.create_default_context()


def http_client(base_url: str, **options: Any) -> httpx.AsyncClient:
    """An httpx client for one server, with the suite's timeout and the one TLS context."""
    options.setdefault("timeout", TIMEOUT)
    return httpx.AsyncClient(base_url=base_url, verify=_TLS, **options)


def check_subset(expected: Any, actual: Any, where: str = "body") -> None:
    """Every key of `expected` is in `actual` with a matching value (recursively for objects;
    a list matches a list of the same length, item by item)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} in {actual!r}"
            check_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected a list of {len(expected)}, got {actual!r}"
        )
        for index, (wanted, got) in enumerate(zip(expected, actual, strict=True)):
            check_subset(wanted, got, f"{where}[{index}]")
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
    if expect.content is not None:
        described = expect.content.describe()
        assert response.content == expect.content.as_bytes(), (
            f"{summary}: body of {len(response.content)} bytes, expected {described}"
        )
    if expect.json_patterns:
        check_json_patterns(expect.json_patterns, response, summary)
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
            check_error_headers(spec, expect.error, response, summary)


def check_error_headers(
    spec: Spec, error: ErrorRef, response: httpx.Response, summary: str
) -> None:
    """The headers the error's status requires (its catalogue entry's), values compared
    case-insensitively: a 426's Upgrade and Connection name tokens. Connection lists the options
    of one hop (RFC 9110 §7.6.1), and a proxy in front (deploy/nginx.conf) writes its own beside
    the app's, so there the error's option must be one of those listed."""
    for name, value in spec.errors[error.code].headers.items():
        actual = response.headers.get(name)  # httpx joins a field given twice with ", "
        if actual is not None and name.lower() == "connection":
            matches = value.lower() in {option.strip().lower() for option in actual.split(",")}
        else:
            matches = actual is not None and actual.lower() == value.lower()
        assert matches, (
            f"{summary}: header {name} is {actual!r}; error {error.code!r} is sent with {value!r}"
        )


def check_every_response_headers(response: httpx.Response) -> None:
    summary = f"{response.request.method} {response.request.url} -> {response.status_code}"
    for name, pattern in EVERY_RESPONSE_HEADERS.items():
        actual = response.headers.get(name)
        assert actual is not None and re.fullmatch(pattern, actual), (
            f"{summary}: header {name} is {actual!r}; every response's must match {pattern!r}"
        )


def check_json_patterns(
    patterns: Mapping[str, str], response: httpx.Response, summary: str
) -> None:
    """Each top-level value, a string or the JSON text of a number, fully matches its regex."""
    try:
        body = response.json()
    except json.JSONDecodeError:
        raise AssertionError(f"{summary}: body is not JSON: {response.text[:500]!r}") from None
    assert isinstance(body, dict), f"{summary}: expected a JSON object, got {body!r}"
    for key, pattern in patterns.items():
        assert key in body, f"{summary}: missing key {key!r} in {body!r}"
        value = body[key]
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        assert isinstance(value, str) or is_number, f"{summary}: {key} is {value!r}"
        text = value if isinstance(value, str) else json.dumps(value)
        assert re.fullmatch(pattern, text), f"{summary}: {key} is {value!r}, expected {pattern!r}"


def form_files(parts: Sequence[FormPart], variables: Mapping[str, Any]) -> list[Any]:
    """httpx's `files`, in the spec's order; a part without a filename is a plain field."""
    files: list[Any] = []
    for part in parts:
        if part.value is not None:
            files.append((part.name, (None, part.value.encode())))
            continue
        assert part.content is not None
        content = part.content
        data = content.text.encode() if content.text is not None else content.as_bytes()
        filename = substitute(part.filename, variables)
        files.append((part.name, (filename, data, part.content_type)))
    return files


def request_kwargs(request: HttpRequest, variables: Mapping[str, Any]) -> dict[str, Any]:
    """httpx's arguments for a spec request, with `{name}` variables substituted."""
    # (name, value) pairs: a repeated header is sent once for each value, in order.
    pairs = header_pairs(request.headers)
    kwargs: dict[str, Any] = {"headers": [(k, substitute(v, variables)) for k, v in pairs]}
    if request.query:  # httpx's params, even empty, replace a query written in the path
        kwargs["params"] = substitute(dict(request.query), variables)
    if request.json is not None:
        kwargs["json"] = substitute(request.json, variables)
    elif request.multipart:
        kwargs["files"] = form_files(request.multipart, variables)
    else:
        kwargs["content"] = request.body
    return kwargs


def saved_values(step: HttpStep, response: httpx.Response) -> dict[str, Any]:
    """The step's `save`: variable -> that top-level key of the JSON body."""
    if not step.save:
        return {}
    try:
        body = response.json()
    except json.JSONDecodeError:
        summary = f"{response.request.method} {response.request.url} -> {response.status_code}"
        message = f"{summary}: nothing to save, not JSON: {response.text[:500]!r}"
        raise AssertionError(message) from None
    missing = [key for key in step.save.values() if not isinstance(body, dict) or key not in body]
    assert not missing, f"cannot save {missing}: not in the body {body!r}"
    return {variable: body[key] for variable, key in step.save.items()}


async def run_http_step(
    spec: Spec, client: httpx.AsyncClient, step: HttpStep, variables: dict[str, Any]
) -> None:
    request = step.request
    path = substitute(request.path, variables)
    kwargs = request_kwargs(request, variables)

    async def alone() -> httpx.Response:
        # A client, so a connection, for each request in flight: one pool shared by hundreds of
        # requests costs httpcore O(n) per response to reassign them (most of a counter case).
        async with http_client(str(client.base_url), event_hooks=client.event_hooks) as own:
            return await own.request(request.method, path, **kwargs)

    started = time.perf_counter()
    if step.concurrency == 1:
        responses = [await client.request(request.method, path, **kwargs)]
    else:
        responses = await asyncio.gather(*(alone() for _ in range(step.concurrency)))
    elapsed = time.perf_counter() - started
    variables.update(saved_values(step, responses[0]))
    expect = msgspec.structs.replace(
        step.expect,
        headers=substitute(dict(step.expect.headers), variables),
        text=substitute(step.expect.text, variables),
        json=substitute(step.expect.json, variables),
        json_subset=substitute(step.expect.json_subset, variables),
        error_params=substitute(dict(step.expect.error_params), variables),
    )
    for response in responses:
        check_response(spec, expect, response)
        check_every_response_headers(response)
    if step.elapsed is not None:
        what = f"{step.concurrency} x {request.method} {path}"
        assert elapsed >= step.elapsed.min, (
            f"{what} took {elapsed:.3f} s, expected >= {step.elapsed.min}"
        )
        if step.elapsed.max is not None:
            assert elapsed <= step.elapsed.max, (
                f"{what} took {elapsed:.3f} s, expected <= {step.elapsed.max}"
            )


type ResponseHook = Callable[[httpx.Response], Awaitable[None]]


async def run_http_case(
    spec: Spec,
    base_url: str,
    case: HttpCase,
    on_response: Sequence[ResponseHook] = (),
    unique: str | None = None,
) -> None:
    """Each step in order; `{unique}` is new for this run (or `unique`), saved values carry to
    later steps. `on_response`: httpx's response hooks, told every response (the reader shows
    them, its targets side by side with one `unique`)."""
    variables: dict[str, Any] = builtin_variables()
    if unique is not None:
        variables["unique"] = unique
    async with http_client(base_url, event_hooks={"response": list(on_response)}) as client:
        for index, step in enumerate(case.steps):
            try:
                await run_http_step(spec, client, step, variables)
            except AssertionError as error:
                if len(case.steps) == 1:
                    raise
                raise AssertionError(f"step {index + 1}: {error}") from None


async def receive_text(ws: ClientConnection, step: WsStep) -> str:
    """The next message, which must be text."""
    try:
        message = await asyncio.wait_for(ws.recv(), TIMEOUT)
    except ConnectionClosed as closed:
        raise AssertionError(f"{step.describe()}: the server closed ({closed})") from None
    assert isinstance(message, str), f"{step.describe()}: got bytes {message[:80]!r}"
    return message


async def run_ws_step(spec: Spec, ws: ClientConnection, step: WsStep) -> None:
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
        case "expect_json_subset":
            assert step.payload is not None
            message = await receive_text(ws, step)
            check_subset(step.payload.json, json.loads(message), f"{step.describe()}: frame")
        case "expect_error":
            assert step.error is not None
            wanted = {"type": "error", **spec.error_body(step.error)}
            frame = json.loads(await receive_text(ws, step))
            assert frame == wanted, f"{step.describe()}: got {frame!r}, expected {wanted!r}"
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


def origin_of(ws_base_url: str) -> str:
    """The Origin a page served by this server sends: ws://host:port -> http://host:port."""
    return "http" + ws_base_url.removeprefix("ws")


def ws_headers(ws_base_url: str, case: WsCase) -> list[tuple[str, str]]:
    """The server's own Origin, as a browser on its page sends it, unless the case says not;
    (name, value) pairs, a repeated header once for each value."""
    headers = {"origin": origin_of(ws_base_url), **case.headers}
    kept = {name: value for name, value in headers.items() if name not in case.omit_headers}
    return header_pairs(kept)


def as_httpx(response: Response, url: str) -> httpx.Response:
    """The handshake's HTTP response, for check_response."""
    return httpx.Response(
        response.status_code,
        headers=list(response.headers.raw_items()),
        content=bytes(response.body),
        request=httpx.Request("GET", url),
    )


async def run_ws_case(
    spec: Spec,
    ws_base_url: str,
    case: WsCase,
    connection: type[ClientConnection] = ClientConnection,
) -> None:
    """The handshake, then each step in order. `connection`: the websockets connection class,
    one that records what it receives for the reader."""
    url = ws_base_url + case.path
    refusal = case.steps[0].refusal
    try:
        async with connect(
            url,
            additional_headers=ws_headers(ws_base_url, case),
            max_size=None,  # the server's limit is under test, not the client's
            compression=None,
            open_timeout=TIMEOUT,
            close_timeout=TIMEOUT,
            create_connection=connection,
        ) as ws:
            assert refusal is None, f"the handshake was accepted, expected {refusal.status}"
            for index, step in enumerate(case.steps):
                try:
                    await run_ws_step(spec, ws, step)
                except AssertionError as error:
                    raise AssertionError(f"step {index + 1}: {error}") from None
    except InvalidStatus as error:
        if refusal is None:
            status = error.response.status_code
            raise AssertionError(f"handshake refused: HTTP {status}") from None
        check_response(spec, refusal, as_httpx(error.response, url))
