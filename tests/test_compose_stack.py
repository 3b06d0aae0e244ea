"""docker-compose.yml for real (compose-lab): the parity matrix through nginx, hostile clients
bounded by nginx, a chat across replicas that outlives one of them, the split profile's routes,
and the stack down clean."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State
from websockets.typing import Origin

from shared.harness import nginx
from shared.harness.client import origin_of
from shared.harness.nginx import BEHIND_NGINX
from shared.harness.targets import PROJECT_ROOT, free_port, load_targets
from tests import hostile

pytestmark = pytest.mark.compose

PROJECT = "parity-stack"  # COMPOSE_PROJECT_NAME: the containers' names, whatever the folder's
# docker-compose.yml's published ports; DJANGO_SPLIT_PORT the split profile's nginx-split, which
# the stack runs too (COMPOSE_PROFILES): one bring-up for both deployments.
PORTS = ("AIOHTTP_PORT", "DJANGO_PORT", "UPSTREAM_PORT", "SITE_PORT", "DJANGO_SPLIT_PORT")
PROFILES = "split"
# The blocking pitfall's case times five requests queued behind one blocked event loop: through
# nginx they go to two replicas, two loops, and take half as long. That is what replicas are for.
# Every other case runs.
NOT_THROUGH_REPLICAS = "not pitfall-blocking"
PORT = {"aiohttp": 8081, "django": 8082}  # each app's port on the stack's network
SPOOFED = "203.0.113.9"  # an X-Forwarded-For that no proxy added
# Another container of the stack asks a replica itself, with a forwarded address of its own.
ASK_WITH_SPOOFED = (
    "import sys, urllib.request; print(urllib.request.urlopen(urllib.request.Request(sys.argv[1],"
    f" headers={{'X-Forwarded-For': '{SPOOFED}', 'X-Forwarded-Proto': 'https'}}), timeout=10)"
    ".read().decode())"
)
UP_TIMEOUT = 1500  # seconds: a fresh machine's setup (~3 min) and the one image's build
MEMBERS = 4  # chat members a room: nginx's round robin puts some on each replica
WAIT = 15.0  # seconds for a frame, or for the killed replica's members to be closed
HOW_TO_GET_COMPOSE_LAB = (
    "compose-lab was not found: set COMPOSE_LAB=/path/to/compose-lab (on these machines"
    " ../shared/tools/compose-lab; .ci/run sets it). It runs docker-compose.yml with podman and"
    " local stand-ins for the images, and needs root."
)


@dataclass(frozen=True)
class Stack:
    lab: str
    env: dict[str, str]  # compose-lab's own (DOCKER_HOST ...), COMPOSE_PROJECT_NAME, the ports
    up_seconds: float

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_PORT']}"

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def down(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.lab, "down", str(PROJECT_ROOT)],
            env=self.env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    def containers(self) -> list[str]:
        """The names of the project's containers, running or not."""
        listed = self.docker(
            "ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
            "--format", "{{.Names}}",
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        return listed.stdout.split()


def lab_env(lab: str) -> dict[str, str]:
    """The variables `compose-lab env` exports, for plain `docker` commands."""
    printed = subprocess.run([lab, "env"], capture_output=True, text=True, timeout=30, check=True)
    env = dict(os.environ)
    for line in printed.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
    return env


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """`compose-lab up` on free ports (nginx's two, the upstream's, the site's); down at the end,
    whatever the tests did."""
    lab = os.environ.get("COMPOSE_LAB", "")
    if not lab or not os.access(lab, os.X_OK):
        if os.environ.get("COMPOSE_LAB_REQUIRED"):
            pytest.fail(f"COMPOSE_LAB_REQUIRED is set, but {HOW_TO_GET_COMPOSE_LAB}")
        pytest.skip(f"not run: {HOW_TO_GET_COMPOSE_LAB}")
    env = lab_env(lab) | {"COMPOSE_PROJECT_NAME": PROJECT, "COMPOSE_PROFILES": PROFILES}
    env |= {name: str(free_port()) for name in PORTS}
    stack = Stack(lab, env, up_seconds=0.0)
    stack.down()  # what an interrupted run left
    # A fresh podman API service: an earlier bring-up that failed half-way once left it answering
    # "write child: broken pipe" to every container start. `up` starts it again.
    subprocess.run([lab, "stop"], env=env, capture_output=True, timeout=120, check=False)
    started = time.monotonic()
    up = subprocess.run(
        [lab, "up", str(PROJECT_ROOT)],
        env=env, capture_output=True, text=True, timeout=UP_TIMEOUT, check=False,
    )  # fmt: skip
    try:
        if up.returncode != 0:
            pytest.fail(f"compose-lab up: exit {up.returncode}\n{up.stderr[-8000:]}", False)
        yield Stack(lab, env, up_seconds=time.monotonic() - started)
    finally:
        stack.down()


def test_up_healthy(stack: Stack) -> None:
    """Every service running (healthy where it has a check), the one-shot ones done."""
    listed = stack.docker(
        "ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
        "--format", '{{.Label "com.docker.compose.service"}}|{{.State}}|{{.Status}}',
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    states: dict[str, list[tuple[str, str]]] = {}
    for line in listed.stdout.splitlines():
        service, state, status = line.split("|", 2)
        states.setdefault(service, []).append((state, status))
    assert len(states["aiohttp"]) == len(states["django"]) == len(states["django-wsgi"]) == 2, (
        states
    )
    for service, found in states.items():
        for state, status in found:
            if service in {"aiohttp-schema", "django-migrate"}:  # once, before the replicas
                assert state == "exited" and "(0)" in status, f"{service}: {state}, {status}"
            else:
                assert state == "running" and not re.search("unhealthy|starting", status), (
                    f"{service}: {state}, {status}"
                )
    print(f"compose-lab up: {stack.up_seconds:.0f} s")


def test_parity_through_nginx(stack: Stack, tmp_path: Path) -> None:
    """The parity matrix against nginx's two ports: each app as its target, behind nginx."""
    parity = subprocess.run(
        [
            sys.executable, "-m", "pytest", "tests/test_parity.py", "-q", "-p", "no:cacheprovider",
            f"--basetemp={tmp_path / 'parity'}", "--parity-report=", "-k", NOT_THROUGH_REPLICAS,
            *(f"--target-url={target}={stack.url(app)}" for app, target in BEHIND_NGINX.items()),
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    report = f"{parity.stdout[-20000:]}{parity.stderr[-3000:]}"
    assert parity.returncode == 0, report
    assert re.search(r"\b\d+ passed\b", parity.stdout), report


def test_hostile_clients_through_nginx(stack: Stack) -> None:
    """tests/test_hostile.py's clients on nginx's two ports at once: each dropped within nginx's
    bound (a body within the app's), another client served meanwhile on each. uvicorn alone holds
    a silent client and a slow header section without end (expected.toml); nginx bounds them."""
    targets = load_targets()

    async def both() -> list[hostile.Run]:
        return await asyncio.gather(
            *(
                hostile.run(target, stack.url(app), nginx.holds(targets[target]))
                for app, target in BEHIND_NGINX.items()
            )
        )

    runs = asyncio.run(both())
    for run in runs:
        print(f"{run.target} through nginx: {json.dumps(run.counted())}")
    problems = [
        f"{run.target} through nginx: {problem}"
        for run in runs
        for rule in hostile.RULES
        if (problem := hostile.failure(run, rule))
    ]
    assert not problems, "\n".join(problems)


def test_forwarded_from_nginx_only(stack: Stack) -> None:
    """Both apps believe X-Forwarded-For and -Proto from nginx alone (FORWARDED_ALLOW_IPS): through
    nginx they see the client nginx had (a client's own header replaced), and asked by another
    container of the stack with the headers, that container."""
    address = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    nginx_address = stack.docker(
        "inspect", "--format", address, f"{PROJECT}-nginx-1"
    ).stdout.strip()
    site_address = stack.docker("inspect", "--format", address, f"{PROJECT}-site-1").stdout.strip()
    assert nginx_address and site_address
    for app in BEHIND_NGINX:
        through = httpx.get(
            f"{stack.url(app)}/middleware/client", headers={"X-Forwarded-For": SPOOFED}, timeout=10
        )
        assert through.status_code == 200, through.text
        seen = through.json()
        assert seen["address"] not in {SPOOFED, nginx_address} and seen["scheme"] == "http", seen
        asked = stack.docker(
            "exec", f"{PROJECT}-site-1", "python", "-c", ASK_WITH_SPOOFED,
            f"http://{app}:{PORT[app]}/middleware/client",
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout) == {"address": site_address, "scheme": "http"}, app


async def frame(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first frame `wanted` takes, the ones before it skipped (joins, leaves)."""
    async with asyncio.timeout(WAIT):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if wanted(message):
                return message


def says(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("type") == "message" and message.get("message") == text


async def member(url: str, room: str) -> ClientConnection:
    """A member of `room` through nginx (the page's own Origin), past its own join."""
    ws = await connect(f"{url}/ws/chat/{room}", origin=Origin(origin_of(url)), open_timeout=WAIT)
    await frame(ws, lambda message: message.get("type") == "join")
    return ws


async def members(url: str, room: str, count: int) -> list[ClientConnection]:
    """`count` members of a new room, one after another, each having heard the last join."""
    joined = [await member(url, room) for _ in range(count)]
    for ws in joined[:-1]:
        await frame(ws, lambda message: message == {"type": "join", "members": count})
    return joined


async def chat_outlives_a_replica(stack: Stack, app: str) -> None:
    url = stack.url(app).replace("http", "ws", 1)
    room = f"stack-{app}-{int(time.time())}"
    room_members = await members(url, room, MEMBERS)
    try:
        await room_members[0].send(json.dumps({"message": "across"}))
        for ws in room_members:
            await frame(ws, says("across"))
        killed = stack.docker("kill", "--signal", "KILL", f"{PROJECT}-{app}-1")
        assert killed.returncode == 0, killed.stderr
        closing = [asyncio.create_task(ws.wait_closed()) for ws in room_members]
        await asyncio.wait(closing, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait(closing, timeout=1.0)  # the killed replica's others, closed with it
        for task in closing:
            task.cancel()
        survivors = [ws for ws in room_members if ws.state is State.OPEN]
        # Some members were on each replica: a message crossed from one to the other above.
        assert 0 < len(survivors) < MEMBERS, (
            f"{len(survivors)} of {MEMBERS} members open after {app}-1 was killed: they were not"
            " spread over both replicas"
        )
        await survivors[0].send(json.dumps({"message": "still here"}))
        for ws in survivors:
            await frame(ws, says("still here"))
        # A member joining now reaches the room through the other replica.
        newcomer = await member(url, room)
        await newcomer.send(json.dumps({"message": "newcomer"}))
        for ws in [*survivors, newcomer]:
            await frame(ws, says("newcomer"))
        room_members.append(newcomer)
    finally:
        for ws in room_members:
            await ws.close()


@pytest.mark.parametrize("app", sorted(BEHIND_NGINX))
def test_chat_across_replicas_outlives_one(stack: Stack, app: str) -> None:
    """Members spread over both replicas hear each other; one replica killed (SIGKILL), the
    room carries on through the other."""
    asyncio.run(chat_outlives_a_replica(stack, app))


def served_by(response: httpx.Response) -> str:
    """Which Django server answered through nginx: gunicorn names itself in Server (nginx passes
    the app's on); uvicorn runs with --no-server-header."""
    return "gunicorn" if response.headers.get("server", "").startswith("gunicorn") else "uvicorn"


async def echo(url: str) -> str:
    async with connect(f"{url}/ws/echo", origin=Origin(origin_of(url)), open_timeout=WAIT) as ws:
        await ws.send("through nginx-split")
        async with asyncio.timeout(WAIT):
            return str(await ws.recv())


def test_split_profile_routes_plain_http_to_wsgi_and_the_rest_to_asgi(stack: Stack) -> None:
    """nginx-split (deploy/nginx-split.conf): plain HTTP answered by gunicorn's replicas, the
    websockets, streams, long polls and waits by uvicorn's; nginx's 8082 sends all to uvicorn."""
    split, single = stack.url("django_split"), stack.url("django")
    with httpx.Client(timeout=WAIT) as client:
        for path in ("/hello", "/json", "/items?limit=1", "/health/live"):
            answer = client.get(f"{split}{path}")
            assert answer.status_code == 200 and served_by(answer) == "gunicorn", (path, answer)
            answer = client.get(f"{single}{path}")
            assert answer.status_code == 200 and served_by(answer) == "uvicorn", (path, answer)
        assert client.get(f"{split}/json").json() == client.get(f"{single}/json").json()
        uvicorn_paths = {  # path -> status
            "/stream?chunks=2": 200,
            "/delay?seconds=0": 200,
            "/health/ready": 200,
            "/events/poll?after=1000000000&timeout=0.3": 204,
        }
        for path, status in uvicorn_paths.items():
            answer = client.get(f"{split}{path}")
            assert answer.status_code == status and served_by(answer) == "uvicorn", (path, answer)
        # Either replica set answers the same rows: one database.
        made = client.post(f"{split}/items", json={"name": "split", "note": "by gunicorn"})
        assert made.status_code == 201, made.text
        assert client.get(f"{single}{made.headers['location']}").json() == made.json()
    assert asyncio.run(echo(split.replace("http", "ws", 1))) == "through nginx-split"


def test_down_clean(stack: Stack) -> None:
    down = stack.down()
    assert down.returncode == 0, f"compose-lab down:\n{down.stdout}\n{down.stderr}"
    assert stack.containers() == []
