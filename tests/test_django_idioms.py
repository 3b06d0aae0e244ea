"""Django AsyncClient, Channels WebsocketCommunicator idiom; authoritative: tests/test_parity.py."""

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import SplitResult, unquote

import pytest
from asgiref.sync import ThreadSensitiveContext
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import AsyncClient, override_settings

from django_app.basics.middleware import CommonMiddleware
from django_app.config.asgi import application
from shared.runtime.accounts import LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS, login_key
from shared.runtime.errors import error_body

# Both clients run in-process: AsyncClient builds an ASGI scope and calls Django's handler, and
# WebsocketCommunicator feeds ASGI events to the consumer. No server, no socket, no HTTP parsing,
# so what a server owns (the websocket close handshake, the 16 MiB message limit) is not tested
# here. And where a server would answer 500, AsyncClient re-raises the view's exception.

TIMEOUT = 5.0  # seconds per websocket receive: a hang fails instead of blocking the run
# A page of the app's own host: a websocket from any other Origin, or none, is refused with 403.
ORIGIN = [(b"origin", b"http://127.0.0.1")]

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


def text(response: HttpResponseBase) -> str:
    """The body as text: django-stubs types the test client's responses HttpResponseBase, which
    has none; the views here answer an HttpResponse."""
    assert isinstance(response, HttpResponse)
    return response.text


class Utf8PathAsyncClient(AsyncClient):
    """AsyncClient whose scope["path"] is decoded as UTF-8, as the ASGI spec and servers do.

    Django 6.1's AsyncRequestFactory reuses the WSGI factory's private _get_path, which decodes
    the path's bytes as ISO-8859-1 (PEP 3333's rule for PATH_INFO). WSGIRequest undoes that;
    ASGIRequest takes scope["path"] as it is, so /J%C3%BCrgen would reach the view as "JÃ¼rgen".
    """

    def _get_path(self, parsed: SplitResult) -> str:
        return unquote(parsed.path)


# Channels closes stale database connections around every consumer event
# (aclose_old_connections): pytest-django must allow database access for that.
channels_db = pytest.mark.django_db(transaction=True)


@asynccontextmanager
async def websocket(path: str) -> AsyncIterator[WebsocketCommunicator]:
    """A WebsocketCommunicator on the project's ASGI application, connected, then disconnected."""
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected, f"{path}: the consumer refused the connection"
    try:
        yield communicator
    finally:
        await communicator.disconnect(timeout=TIMEOUT)


# hello


async def test_hello_anonymous(async_client: AsyncClient) -> None:
    response = await async_client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert text(response) == "Hello, Anonymous"


@pytest.mark.parametrize(
    ("path", "greeting"),
    [("/Ada", "Hello, Ada"), ("/Ada%20Lovelace", "Hello, Ada Lovelace")],
    ids=["name", "percent-encoded-space"],
)
async def test_hello_name(async_client: AsyncClient, path: str, greeting: str) -> None:
    response = await async_client.get(path)
    assert response.status_code == 200
    assert text(response) == greeting


@pytest.mark.parametrize(
    ("path", "greeting"),
    [("/J%C3%BCrgen", "Hello, Jürgen"), ("/%E4%B8%96%E7%95%8C", "Hello, 世界")],
    ids=["latin", "cjk"],
)
async def test_hello_non_ascii_name(async_client: AsyncClient, path: str, greeting: str) -> None:
    response = await Utf8PathAsyncClient().get(path)
    assert response.status_code == 200
    assert text(response) == greeting
    # The stock AsyncClient garbles a non-ASCII path (see Utf8PathAsyncClient); real servers do
    # not (test_parity.py). When this assertion fails, Django has fixed it: drop the subclass.
    garbled = await async_client.get(path)
    assert text(garbled) == greeting.encode().decode("iso-8859-1")


async def test_hello_head(async_client: AsyncClient) -> None:
    response = await async_client.head("/Ada")
    assert response.status_code == 200
    # The test client drops the body, as a server does; Django's handler itself still sends it.
    assert response.content == b""


# json


async def test_json(async_client: AsyncClient) -> None:
    response = await async_client.get("/json")
    assert response.status_code == 200
    # JsonResponse sends bare application/json; aiohttp's web.json_response adds a charset.
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Hello, async world!"}


# delay


async def test_delay(async_client: AsyncClient) -> None:
    started = time.perf_counter()
    response = await async_client.get("/delay", query_params={"seconds": "0.2"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.json() == {"slept": 0.2}
    assert elapsed >= 0.2


async def ten_at_once(send: Callable[[], Awaitable[HttpResponseBase]]) -> float:
    """The seconds ten concurrent requests take, each answered 200."""
    started = time.perf_counter()
    responses = await asyncio.gather(*(send() for _ in range(10)))
    elapsed = time.perf_counter() - started
    assert [response.status_code for response in responses] == [200] * 10
    return elapsed


async def test_delay_concurrent_sleeps_overlap(async_client: AsyncClient) -> None:
    # Ten sleeps of 0.5 s at once end in about 0.5 s, not 5 s: the view awaits, never blocks.
    # The bound is generous (a loaded machine) but far below the 5 s of sleeps in a row.
    elapsed = await ten_at_once(lambda: async_client.get("/delay", query_params={"seconds": "0.5"}))
    assert 0.5 <= elapsed < 4.0


class SyncMiddleware:
    """Seed 004's SyncMiddleware, passing every request through: Django runs it in a thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)


@override_settings(MIDDLEWARE=[f"{__name__}.SyncMiddleware", *settings.MIDDLEWARE])
async def test_a_sync_middleware_holds_a_thread_per_request() -> None:
    # Django runs a synchronous layer in asgiref's thread-sensitive thread, which it holds until
    # the response. Its ASGI handler gives each request a ThreadSensitiveContext, so a thread of
    # its own; the test client does not, so the ten requests queue for one thread: ten 0.2 s
    # sleeps take 2 s at least, one after another (a lower bound: it cannot flake).
    client = AsyncClient()  # a handler of its own, which loads the MIDDLEWARE above

    async def delay() -> HttpResponseBase:
        return await client.get("/delay", query_params={"seconds": "0.2"})

    async def in_its_own_context() -> HttpResponseBase:
        async with ThreadSensitiveContext():  # what Django's ASGI handler does for each request
            return await delay()

    assert await ten_at_once(delay) >= 2.0
    assert await ten_at_once(in_its_own_context) < 1.8  # overlapping, each in a thread of its own


async def test_common_middleware_runs_in_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # Django's own CommonMiddleware, a MiddlewareMixin, would hand each hook to a thread under
    # ASGI; django_app's subclass calls them in the loop, as every other layer runs.
    threads: list[threading.Thread] = []
    process_response = CommonMiddleware.process_response

    def recorded(
        self: CommonMiddleware, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        threads.append(threading.current_thread())
        return process_response(self, request, response)

    monkeypatch.setattr(CommonMiddleware, "process_response", recorded)
    response = await AsyncClient().get("/json")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(response.content))
    assert threads == [threading.current_thread()]


@pytest.mark.parametrize(("query", "body"), BAD_SECONDS)
async def test_delay_bad_input(
    async_client: AsyncClient, query: dict[str, str], body: dict[str, dict[str, str]]
) -> None:
    response = await async_client.get("/delay", query_params=query)
    assert response.status_code == 400
    assert response.json() == body


# ws-echo


@channels_db
async def test_ws_echo_text() -> None:
    async with websocket("/ws/echo") as ws:
        for text in ("hello", "¡olé, 世界!"):
            await ws.send_to(text_data=text)
            assert await ws.receive_from(timeout=TIMEOUT) == text


@channels_db
async def test_ws_echo_binary() -> None:
    data = bytes.fromhex("00ff7f80fe")
    async with websocket("/ws/echo") as ws:
        await ws.send_to(bytes_data=data)
        assert await ws.receive_from(timeout=TIMEOUT) == data


@channels_db
async def test_ws_echo_close() -> None:
    ws = WebsocketCommunicator(application, "/ws/echo", headers=ORIGIN)
    assert (await ws.connect(timeout=TIMEOUT))[0]
    await ws.send_to(text_data="bye")
    assert await ws.receive_from(timeout=TIMEOUT) == "bye"
    # In-process there is no close frame: disconnect() delivers websocket.disconnect, and it is
    # the server that answers a client's close with 1000, not the consumer (test_parity.py checks
    # that). What is left to see: the consumer ends by itself, cleanly, and sends nothing more.
    await ws.disconnect(code=1000, timeout=TIMEOUT)  # raises if the consumer raised
    # disconnect() also returns when the consumer never stops: asgiref's wait() cancels the
    # application at the timeout and swallows that, so look at the application's task.
    assert not ws.future.cancelled(), "the consumer did not stop after websocket.disconnect"
    assert await ws.receive_nothing()


# ws-greet


@channels_db
async def test_ws_greet_text() -> None:
    async with websocket("/ws/greet") as ws:
        for name in ("Ada", "世界"):
            await ws.send_to(text_data=name)
            assert await ws.receive_from(timeout=TIMEOUT) == f"Hello, {name}"


@channels_db
async def test_ws_greet_binary() -> None:
    data = bytes.fromhex("cafe")
    async with websocket("/ws/greet") as ws:
        await ws.send_to(bytes_data=data)
        assert await ws.receive_from(timeout=TIMEOUT) == data


# not-found


@pytest.mark.parametrize("path", ["/no/such/path", "/ws/nothing/here"])
async def test_not_found(async_client: AsyncClient, path: str) -> None:
    response = await async_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == error_body("not_found")


@pytest.mark.parametrize(("method", "path"), [("POST", "/json"), ("DELETE", "/")])
async def test_method_not_allowed(async_client: AsyncClient, method: str, path: str) -> None:
    response = await async_client.generic(method, path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == error_body("method_not_allowed", method=method)


# accounts


@pytest.mark.django_db(transaction=True)
async def test_accounts_sign_up_stores_an_argon2_hash(async_client: AsyncClient) -> None:
    credentials = {"username": "ada", "password": "correct horse battery"}
    response = await async_client.post("/accounts", credentials, content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {"username": "ada"}
    user = await User.objects.aget(username="ada")
    assert user.password.startswith("argon2$argon2id$")
    assert await user.acheck_password("correct horse battery")
    again = await async_client.post("/accounts", credentials, content_type="application/json")
    assert again.status_code == 409
    assert again.json() == error_body("username_taken")


@pytest.mark.django_db(transaction=True)
async def test_accounts_refuses_a_common_password(async_client: AsyncClient) -> None:
    response = await async_client.post(
        "/accounts", {"username": "bob", "password": "password1"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == error_body("invalid_field", field="password", problem="is too common")


# session


@pytest.mark.django_db(transaction=True)
async def test_session_aforce_login_then_me(async_client: AsyncClient) -> None:
    # AsyncClient.aforce_login makes a session for the user in SESSION_ENGINE's store and sets
    # its cookie on the client, without a password: the view sees that user.
    user = await User.objects.acreate(username="ada")
    assert (await async_client.get("/me")).status_code == 401
    await async_client.aforce_login(user)
    response = await async_client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"username": "ada"}
    await async_client.alogout()
    assert (await async_client.get("/me")).json() == error_body("not_authenticated")


@pytest.mark.django_db(transaction=True)
async def test_session_alogin_with_the_password(async_client: AsyncClient) -> None:
    # AsyncClient.alogin checks the credentials with aauthenticate, as POST /session does.
    user = User(username="bob")
    user.set_password("correct horse battery")
    await user.asave()
    assert await async_client.alogin(username="bob", password="correct horse battery")
    assert (await async_client.get("/me")).json() == {"username": "bob"}
    response = await async_client.delete("/session")
    assert response.status_code == 204
    assert response.cookies["sessionid"].value == ""
    assert (await async_client.get("/me")).status_code == 401


# csrf


@pytest.mark.django_db(transaction=True)
async def test_csrf_is_enforced_when_the_client_asks() -> None:
    # The test client skips CSRF checks unless made with enforce_csrf_checks=True, so a view's
    # csrf_protect is only tested that way (or over a real server, as the parity suite does).
    client = AsyncClient(enforce_csrf_checks=True)
    credentials = {"username": "nobody", "password": "correct horse battery"}
    refused = await client.post("/session", credentials, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == error_body("csrf_failed")
    token = (await client.get("/csrf")).json()["csrf"]
    assert client.cookies["csrftoken"].value
    response = await client.post(
        "/session", credentials, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 401
    assert response.json() == error_body("invalid_credentials")


# login-throttle


@pytest.mark.django_db(transaction=True)
async def test_login_throttle_counts_in_django_s_cache(async_client: AsyncClient) -> None:
    # The count is in CACHES' default (LocMemCache here, shared by the process's tests: a name of
    # this test's own); the test reads it with the same cache API.
    username = f"t-{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": "not the password"}
    for _ in range(LOGIN_ATTEMPTS):
        failed = await async_client.post("/session", credentials, content_type="application/json")
        assert failed.json() == error_body("invalid_credentials")
    assert await cache.aget(login_key(username)) == LOGIN_ATTEMPTS
    refused = await async_client.post("/session", credentials, content_type="application/json")
    assert refused.status_code == 429
    assert refused.json() == error_body("too_many_attempts")
    assert 1 <= int(refused["Retry-After"]) <= LOGIN_WINDOW_SECONDS


# login-required


@pytest.mark.django_db(transaction=True)
async def test_login_required_on_an_async_view(async_client: AsyncClient) -> None:
    # login_required awaits request.auser() on an async view: a visitor is redirected to
    # LOGIN_URL, a logged-in user (aforce_login) gets the page.
    response = await async_client.get("/me/items")
    assert response.status_code == 302
    assert response["Location"] == "/session?next=/me/items"
    await async_client.aforce_login(await User.objects.acreate(username="ada"))
    page = await async_client.get("/me/items")
    assert page.status_code == 200
    assert page.json() == {"username": "ada", "items": [], "count": 0}


# ws-auth


@channels_db
async def test_ws_auth_communicator_with_a_session_cookie(async_client: AsyncClient) -> None:
    # AuthMiddlewareStack reads the handshake's cookie: a session made by aforce_login, its key
    # sent in the Cookie header the communicator builds into the scope.
    await async_client.aforce_login(await User.objects.acreate(username="ada"))
    cookie = f"sessionid={async_client.cookies['sessionid'].value}".encode()
    headers = [*ORIGIN, (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/me", headers=headers)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "hello",
        "username": "ada",
    }
    await communicator.disconnect(timeout=TIMEOUT)
    visitor = WebsocketCommunicator(application, "/ws/me", headers=ORIGIN)
    connected, _ = await visitor.connect(timeout=TIMEOUT)
    assert not connected
