"""Generated requests on every route, each sent to every target: one answer, or a declared one."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from shared.harness.differential import Played, play
from shared.harness.expected import expected
from shared.harness.generate import Generated, generated, routes
from shared.harness.generate_ws import Conversation, addressed, conversations, handshakes
from shared.harness.generate_ws import play as ws_play
from shared.harness.raw import Answer, RawRequest
from shared.harness.targets import Server
from shared.spec import spec
from tests.plugins.servers import REDIS_PREFIX, TARGETS, ServerPool, selected_targets


@pytest.fixture(scope="module")
def fresh(servers: ServerPool, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Every selected target's server started for this module alone, so that no answer depends
    on what another test stored (items, counters, events): their base URLs, by target. A server
    given by --target-url is used as it is."""
    names = selected_targets(request.config)
    given_urls = {name: servers.urls[name] for name in names if name in servers.urls}
    to_start = [name for name in names if name not in given_urls]
    servers.concurrency_env()  # the upstream service they share, started once, before them

    # Generated waits are cut short, so an upstream call outlasts the apps' 2 s timeout only
    # when a busy machine slows it (a 39-call /fanout did on daphne): 10 s, within WAIT.
    # Log-ins are counted per name in a window (login-throttle): a day, longer than any run, so
    # that a name the requests repeat reaches its limit at the same request on every target; a
    # window ending between two targets' answers would otherwise part them. Redis keys of their
    # own (aiohttp-gunicorn's counts, sessions, events), apart from the pool's server's.
    def env(name: str) -> dict[str, str]:
        return {
            "UPSTREAM_TIMEOUT": "10",
            "LOGIN_WINDOW_SECONDS": str(24 * 60 * 60),
            "REDIS_PREFIX": f"{REDIS_PREFIX}-{name}-generated",
        }

    with ThreadPoolExecutor() as starting:
        started = list(starting.map(lambda n: servers.spawn(n, f"{n}-generated", env(n)), to_start))
    yield {**given_urls, **{server.target.name: server.base_url for server in started}}
    with ThreadPoolExecutor() as stopping:
        list(stopping.map(Server.stop, started))


def budget(config: pytest.Config, share: int = 1) -> Callable[[Callable[..., None]], Any]:
    """Hypothesis's settings for a generated test: one in `share` of --generated-examples, from
    --generated-seed, shrunk to the smallest failing example, with no deadline (a server's
    answer may take a while on a busy machine) and no example database (the seed is the
    record)."""
    examples = max(config.getoption("generated_examples") // share, 1)
    chosen = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    seeded = seed(config.getoption("generated_seed"))
    return lambda test: seeded(chosen(test))


HANDSHAKE_WAIT = 10.0  # seconds for a handshake's answer: nothing by then is a hang


def report(played: Played, base_url: str) -> str:
    lines = [f"{played.route.key}: {problem}" for problem in played.problems()]
    lines.append(f"the request, to send again: {played.request.shell(base_url)}")
    return "\n".join(lines)


def test_every_target_gives_one_answer_to_generated_requests(
    fresh: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """Requests schemathesis generates from the OpenAPI document, valid and not, mutated (another
    method, an odd path, a repeated parameter or header, another media type or encoding, a
    broken body), each sent to every target: no hang, no close, no 5xx the spec does not
    declare, and the same status, media type and error body (or JSON shape) everywhere, unless
    the registry says the server answers it itself."""
    config = request.config
    registry = expected()
    lacking = frozenset(need for name in fresh for need in registry.lacks(name))
    chosen = routes(lacking)
    base_urls = {name: fresh[name] for name in TARGETS if name in fresh}
    first = next(iter(base_urls.values()))

    @budget(config)
    @given(example=generated(chosen))
    def one_answer(example: Generated) -> None:
        played = asyncio.run(play(example.request, example.route, base_urls, registry))
        assert not played.problems(), report(played, first)

    one_answer()


def test_an_undeclared_difference_fails() -> None:
    """A difference planted in one target's answer is found, and a server's answer the registry
    declares is taken as it."""
    route = spec().route("POST /items")
    invalid = Answer(
        "response",
        status=400,
        headers=(("content-type", "application/json"),),
        body=b'{"error": {"code": "invalid_json", "message": "The body is not valid JSON."}}',
    )
    planted = Answer(
        "response",
        status=400,
        headers=(("content-type", "application/json"),),
        body=b'{"error": {"code": "not_an_object", "message": "The body is not a JSON object."}}',
    )
    request = RawRequest(method="POST", target="/items", body=b"{")
    same = Played(request, route, {"aiohttp": invalid, "django-daphne": invalid}, {})
    assert same.problems() == []
    differ = Played(request, route, {"aiohttp": invalid, "django-daphne": planted}, {})
    assert "the targets differ" in differ.problems()[0]
    declared = Played(
        request, route, {"aiohttp": invalid, "django-daphne": planted}, {"django-daphne": "x"}
    )
    assert declared.problems() == []
    hung = Played(request, route, {"aiohttp": invalid, "django-daphne": Answer("timeout")}, {})
    assert "django-daphne: timeout" in hung.problems()[0]


def test_every_target_hears_the_same_on_generated_websocket_conversations(
    fresh: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """Frames of every JSON shape, not JSON, binary and around the chat's 64 KiB limit, sent one
    after another on the echo, greet and chat routes of every target with websockets: each
    target sends back the same frames and ends the connection the same way."""
    config = request.config
    registry = expected()
    origins = {name: url for name, url in fresh.items() if "websocket" not in registry.lacks(name)}
    ws_urls = {name: "ws" + url.removeprefix("http") for name, url in origins.items()}
    rooms = itertools.count()

    @budget(config, share=8)
    @given(conversation=conversations())
    def same_frames(conversation: Conversation) -> None:
        heard = asyncio.run(ws_play(conversation, f"g-{next(rooms)}", ws_urls, origins))
        groups: dict[tuple[str, ...], list[str]] = {}
        for name, frames in heard.items():
            groups.setdefault(tuple(frames), []).append(name)
        assert len(groups) == 1, f"{conversation}\n" + "\n".join(
            f"  {', '.join(targets)}: {list(frames)}" for frames, targets in groups.items()
        )

    same_frames()


def test_every_target_answers_generated_handshakes_alike(
    fresh: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """Websocket handshakes with each header right, left out or wrong (method, Upgrade,
    Connection, key, version, Origin, subprotocol, extension), on every target with websockets:
    opened or refused alike, unless the registry says how that server answers it itself."""
    config = request.config
    registry = expected()
    origins = {name: url for name, url in fresh.items() if "websocket" not in registry.lacks(name)}
    rooms = itertools.count()

    async def play_handshake(handshake: RawRequest) -> Played:
        room = f"h-{next(rooms)}"
        sent = {name: addressed(handshake, url, room) for name, url in origins.items()}
        route = spec().route("GET " + re.sub(r"^/ws/chat/.*", "/ws/chat/{room}", handshake.target))
        return await play(handshake, route, origins, registry, sent, wait=HANDSHAKE_WAIT)

    @budget(config, share=4)
    @given(handshake=handshakes())
    def alike(handshake: RawRequest) -> None:
        played = asyncio.run(play_handshake(handshake))
        assert not played.problems(), report(played, next(iter(origins.values())))

    alike()
