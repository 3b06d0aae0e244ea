"""pytest-aiohttp's aiohttp_client idiom; the authoritative parity suite is tests/test_parity.py."""

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiohttp import WSCloseCode, web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from aiohttp_app.accounts.auth import hasher
from aiohttp_app.accounts.models import User
from aiohttp_app.accounts.throttle import login_limit, login_limiter
from aiohttp_app.data.db import sessions
from aiohttp_app.main import create_app
from shared.runtime.accounts import LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS, login_key
from shared.runtime.errors import error_body

type Client = TestClient[web.Request, web.Application]

TIMEOUT = 5.0  # seconds per websocket receive: a hang fails instead of blocking the run
# A page of the app's own host: a websocket from any other Origin, or none, is refused with 403.
ORIGIN = "http://127.0.0.1"
# The two 400 bodies of shared/runtime/validation.py, rendered from the catalogue the apps use.
MISSING = error_body("missing_parameter", name="seconds")
INVALID = error_body("invalid_parameter", name="seconds", expected="a number from 0 to 10")
BAD_SECONDS = [
    pytest.param({}, MISSING, id="missing"),
    pytest.param({"seconds": "soon"}, INVALID, id="not-a-number"),
    pytest.param({"seconds": "-1"}, INVALID, id="negative"),
    pytest.param({"seconds": "nan"}, INVALID, id="nan"),
    pytest.param({"seconds": "inf"}, INVALID, id="infinity"),
    pytest.param({"seconds": "10.5"}, INVALID, id="over-the-limit"),
]


@pytest.fixture
async def client(aiohttp_client: AiohttpClient) -> Client:
    # Not a mock: aiohttp_client starts the app on a real aiohttp server on a loopback port, in
    # the test's event loop, so HTTP parsing and WebSocketResponse(max_msg_size=...) are all live.
    return await aiohttp_client(create_app())


# hello


async def test_hello_anonymous(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == "Hello, Anonymous"


@pytest.mark.parametrize(
    ("path", "greeting"),
    [("/Ada", "Hello, Ada"), ("/Ada%20Lovelace", "Hello, Ada Lovelace")],
    ids=["name", "percent-encoded-space"],
)
async def test_hello_name(client: Client, path: str, greeting: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert await response.text() == greeting


@pytest.mark.parametrize(
    ("path", "greeting"),
    [("/J%C3%BCrgen", "Hello, Jürgen"), ("/%E4%B8%96%E7%95%8C", "Hello, 世界")],
    ids=["latin", "cjk"],
)
async def test_hello_non_ascii_name(client: Client, path: str, greeting: str) -> None:
    # The request line carries percent-encoded UTF-8; aiohttp decodes it before routing.
    response = await client.get(path)
    assert response.status == 200
    assert await response.text() == greeting


async def test_hello_head(client: Client) -> None:
    response = await client.head("/Ada")
    assert response.status == 200
    assert await response.read() == b""


# json


async def test_json(client: Client) -> None:
    response = await client.get("/json")
    assert response.status == 200
    # web.json_response adds a charset; Django's JsonResponse sends bare application/json.
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await response.json() == {"message": "Hello, async world!"}


# delay


async def test_delay(client: Client) -> None:
    started = time.perf_counter()
    response = await client.get("/delay", params={"seconds": "0.2"})
    elapsed = time.perf_counter() - started
    assert response.status == 200
    assert await response.json() == {"slept": 0.2}
    assert elapsed >= 0.2


async def test_delay_concurrent_sleeps_overlap(client: Client) -> None:
    # Ten sleeps of 0.5 s at once end in about 0.5 s, not 5 s: the view awaits, never blocks.
    # The bound is generous (a loaded machine) but far below the 5 s of sleeps in a row.
    started = time.perf_counter()
    responses = await asyncio.gather(
        *(client.get("/delay", params={"seconds": "0.5"}) for _ in range(10))
    )
    elapsed = time.perf_counter() - started
    assert [response.status for response in responses] == [200] * 10
    assert 0.5 <= elapsed < 4.0


@pytest.mark.parametrize(("query", "body"), BAD_SECONDS)
async def test_delay_bad_input(
    client: Client, query: dict[str, str], body: dict[str, dict[str, str]]
) -> None:
    response = await client.get("/delay", params=query)
    assert response.status == 400
    assert await response.json() == body


# ws-echo


async def test_ws_echo_text(client: Client) -> None:
    async with client.ws_connect("/ws/echo", origin=ORIGIN) as ws:
        for text in ("hello", "¡olé, 世界!"):
            await ws.send_str(text)
            assert await ws.receive_str(timeout=TIMEOUT) == text


async def test_ws_echo_binary(client: Client) -> None:
    data = bytes.fromhex("00ff7f80fe")
    async with client.ws_connect("/ws/echo", origin=ORIGIN) as ws:
        await ws.send_bytes(data)
        assert await ws.receive_bytes(timeout=TIMEOUT) == data


async def test_ws_echo_close(client: Client) -> None:
    async with client.ws_connect("/ws/echo", origin=ORIGIN) as ws:
        await ws.send_str("bye")
        assert await ws.receive_str(timeout=TIMEOUT) == "bye"
        # close() sends a close frame and waits for the server's; close_code is the server's code.
        assert await ws.close(code=WSCloseCode.OK)
        assert ws.close_code == WSCloseCode.OK


async def test_a_websocket_handler_that_raises_closes_with_1011(
    aiohttp_client: AiohttpClient,
) -> None:
    async def explode(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        raise RuntimeError("boom")

    app = create_app()
    app.router.add_get("/ws/explode", explode)
    client = await aiohttp_client(app)
    async with client.ws_connect("/ws/explode", origin=ORIGIN) as ws:
        await ws.send_str("go")
        message = await ws.receive(timeout=TIMEOUT)
        # Not an HTTP 500 written into the websocket (a protocol error, 1002 on the client).
        assert message.type is web.WSMsgType.CLOSE
        assert ws.close_code == WSCloseCode.INTERNAL_ERROR


# ws-greet


async def test_ws_greet_text(client: Client) -> None:
    async with client.ws_connect("/ws/greet", origin=ORIGIN) as ws:
        for name in ("Ada", "世界"):
            await ws.send_str(name)
            assert await ws.receive_str(timeout=TIMEOUT) == f"Hello, {name}"


async def test_ws_greet_binary(client: Client) -> None:
    data = bytes.fromhex("cafe")
    async with client.ws_connect("/ws/greet", origin=ORIGIN) as ws:
        await ws.send_bytes(data)
        assert await ws.receive_bytes(timeout=TIMEOUT) == data


# not-found


@pytest.mark.parametrize("path", ["/no/such/path", "/ws/nothing/here"])
async def test_not_found(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await response.json() == error_body("not_found")


@pytest.mark.parametrize(("method", "path"), [("POST", "/json"), ("DELETE", "/")])
async def test_method_not_allowed(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.status == 405
    # aiohttp's own Allow reads "GET,HEAD": the error middleware writes it as Django does.
    assert response.headers["Allow"] == "GET, HEAD"
    assert await response.json() == error_body("method_not_allowed", method=method)


# files


@pytest.mark.parametrize(
    ("boundary", "charset"),
    [
        pytest.param("xyz", "utf-8", id="delimiter-read-as-a-header"),
        pytest.param("b" * 29, "utf-8", id="boundary-over-28-characters"),
        pytest.param("xyz", "x" * 40, id="charset-over-31-bytes"),
    ],
)
async def test_a_first_part_charset_is_a_400_never_a_500(
    client: Client, boundary: str, charset: str
) -> None:
    # aiohttp's reader takes a first part `_charset_` for itself and fails on it three ways
    # (a delimiter it reads as a header, an AssertionError, a RuntimeError): invalid_multipart.
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n{charset}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        f"a\r\n--{boundary}--\r\n"
    )
    response = await client.post(
        "/files", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status == 400
    assert await response.json() == error_body("invalid_multipart")


# accounts


@pytest.fixture
async def accounts_client(
    aiohttp_client: AiohttpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Client:
    """The app on a database of this test's own (create_app reads DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'aiohttp.sqlite3'}")
    return await aiohttp_client(create_app())


async def test_accounts_sign_up_stores_an_argon2id_hash(accounts_client: Client) -> None:
    credentials = {"username": "ada", "password": "correct horse battery"}
    response = await accounts_client.post("/accounts", json=credentials)
    assert response.status == 201
    assert await response.json() == {"username": "ada"}
    async with accounts_client.app[sessions]() as session:
        user = (await session.scalars(select(User).where(User.username == "ada"))).one()
    assert user.password.startswith("$argon2id$")
    assert hasher.verify(user.password, "correct horse battery")
    again = await accounts_client.post("/accounts", json=credentials)
    assert again.status == 409
    assert await again.json() == error_body("username_taken")


async def test_accounts_refuses_a_common_password(accounts_client: Client) -> None:
    response = await accounts_client.post(
        "/accounts", json={"username": "bob", "password": "password1"}
    )
    assert response.status == 400
    assert await response.json() == error_body(
        "invalid_field", field="password", problem="is too common"
    )


# session


async def test_session_cookie_jar_carries_the_session(accounts_client: Client) -> None:
    # The test client's cookie jar keeps the session cookie from one request to the next, as a
    # browser would.
    credentials = {"username": "ada", "password": "correct horse battery"}
    assert (await accounts_client.post("/accounts", json=credentials)).status == 201
    assert (await accounts_client.get("/me")).status == 401
    # POST and DELETE /session need the CSRF token of the csrftoken cookie (the jar keeps it).
    token = {"X-CSRFToken": (await (await accounts_client.get("/csrf")).json())["csrf"]}
    refused = await accounts_client.post("/session", json=credentials)
    assert refused.status == 403
    assert await refused.json() == error_body("csrf_failed")
    logged_in = await accounts_client.post("/session", json=credentials, headers=token)
    assert logged_in.status == 200
    assert "sessionid" in {cookie.key for cookie in accounts_client.session.cookie_jar}
    me = await accounts_client.get("/me")
    assert await me.json() == {"username": "ada"}
    token = {"X-CSRFToken": (await (await accounts_client.get("/csrf")).json())["csrf"]}
    assert (await accounts_client.delete("/session", headers=token)).status == 204
    assert "sessionid" not in {cookie.key for cookie in accounts_client.session.cookie_jar}
    gone = await accounts_client.get("/me")
    assert gone.status == 401
    assert await gone.json() == error_body("not_authenticated")


# login-required


async def test_login_required_redirects_a_visitor_to_the_log_in_route(
    accounts_client: Client,
) -> None:
    response = await accounts_client.get("/me/items", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/session?next=/me/items"
    assert await response.read() == b""


# login-throttle


async def test_login_throttle_the_app_s_limiter_holds_the_count(accounts_client: Client) -> None:
    # The limiter is the app's (an AppKey, made in cleanup_ctx): the test reads its window.
    username = f"t-{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": "not the password"}
    token = {"X-CSRFToken": (await (await accounts_client.get("/csrf")).json())["csrf"]}
    for _ in range(LOGIN_ATTEMPTS):
        failed = await accounts_client.post("/session", json=credentials, headers=token)
        assert await failed.json() == error_body("invalid_credentials")
    refused = await accounts_client.post("/session", json=credentials, headers=token)
    assert refused.status == 429
    assert await refused.json() == error_body("too_many_attempts")
    assert 1 <= int(refused.headers["Retry-After"]) <= LOGIN_WINDOW_SECONDS
    app = accounts_client.app
    window = await app[login_limiter].get_window_stats(app[login_limit], login_key(username))
    assert window.remaining == 0 and window.reset_time > time.time()


# ws-auth


async def test_ws_auth_the_cookie_jar_logs_the_websocket_in(accounts_client: Client) -> None:
    credentials = {"username": "ada", "password": "correct horse battery"}
    assert (await accounts_client.post("/accounts", json=credentials)).status == 201
    token = {"X-CSRFToken": (await (await accounts_client.get("/csrf")).json())["csrf"]}
    assert (await accounts_client.post("/session", json=credentials, headers=token)).status == 200
    # ws_connect sends the jar's cookies with the handshake, as a browser does.
    async with accounts_client.ws_connect("/ws/me", origin=ORIGIN) as ws:
        assert await ws.receive_json(timeout=TIMEOUT) == {"type": "hello", "username": "ada"}
