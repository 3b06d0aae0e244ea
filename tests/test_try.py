"""`python -m compare try`: the spec's cases played on running servers, answers side by side."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compare.__main__ import main
from compare.play import MAKE_RUN_URLS, Answer, Exchange, align
from shared.harness.targets import PROJECT_ROOT, free_port
from shared.spec import spec
from tests.plugins.servers import ServerPool

APPS = ("aiohttp", "django-daphne")  # what `make run` serves


@pytest.fixture(scope="module")
def urls(servers: ServerPool) -> list[str]:
    """--target-url for each app `make run` serves, started by the suite."""
    return [f"--target-url={name}={servers.get(name).base_url}" for name in APPS]


def play(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["try", *args, "--color=never", "--width=140"])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("behaviour", ["ws-echo", "chat"])
def test_try_plays_every_case_of_a_websocket_behaviour_on_both_apps(
    capsys: pytest.CaptureFixture[str], urls: list[str], behaviour: str
) -> None:
    status, out, err = play(capsys, behaviour, *urls)
    assert status == 0, out + err
    cases = spec().behaviour(behaviour).cases
    for number, case in enumerate(cases, 1):
        assert f"{behaviour} {number}/{len(cases)}: {case.name}" in out
    handshake = out.index("handshake\n")
    assert re.search(
        r"^  status +101 Switching Protocols +│ 101 Switching Protocols$", out[handshake:], re.M
    )
    assert "FAILS the spec" not in out


def test_try_shows_a_declared_difference_and_exits_0(
    capsys: pytest.CaptureFixture[str], urls: list[str]
) -> None:
    """ws-echo 3: daphne drops an empty message (declared): the rows show it, the exit is 0."""
    status, out, _ = play(capsys, "ws-echo", "--case=3", *urls)
    assert status == 0, out
    assert re.search(r"^message 1\n≠ text +\(empty\) +│ after$", out, re.M), out
    assert re.search(r"^  spec +meets the spec +│ differs, as declared$", out, re.M), out
    assert "django-daphne: a declared difference (expected.toml): daphne drops" in out


class WrongHello(BaseHTTPRequestHandler):
    """A server that greets everyone as Bob."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"Hello, Bob")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wrong_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WrongHello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_try_exits_1_where_an_answer_fails_the_spec_undeclared(
    capsys: pytest.CaptureFixture[str], urls: list[str], wrong_server: str
) -> None:
    status, out, _ = play(
        capsys, "hello", "--case=2", urls[0], f"--target-url=django-daphne={wrong_server}"
    )
    assert status == 1, out
    assert re.search(r"^≠ body +Hello, Ada +│ Hello, Bob$", out, re.M), out
    assert re.search(r"^  spec +meets the spec +│ FAILS the spec$", out, re.M), out
    assert "django-daphne: GET " in out and "expected 'Hello, Ada'" in out
    assert out.rstrip().endswith("declared: hello-2 on django-daphne")


def test_try_without_servers_says_how_to_start_them(capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    status, _, err = play(capsys, "json", f"--target-url=aiohttp={nowhere}")
    assert status == 2
    assert f"nothing answers at {nowhere} (aiohttp)" in err
    assert "`make run`" in err


def test_try_refuses_a_case_the_behaviour_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["try", "json", "--case=2"]) == 1
    assert "json has cases 1 to 1, not 2" in capsys.readouterr().err


def test_try_reaches_make_run_s_servers_by_default() -> None:
    """MAKE_RUN_URLS are the ports the Makefile's `run` serves the apps on."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert run is not None
    served = dict(re.findall(r"\b([a-z-]+)=(\d+)\b", run[1]))
    assert {name: f"http://127.0.0.1:{port}" for name, port in served.items()} == MAKE_RUN_URLS


def answer(target: str, *exchanges: Exchange) -> Answer:
    return Answer(target, f"http://{target}", exchanges, "passed")


def test_answers_align_by_exchange_and_field_whatever_each_lacks() -> None:
    """A message one side lacks leaves a gap there, not a shift; the status comes first, the body
    last; a header new on every request varies, never differs."""
    a = answer(
        "a",
        Exchange("handshake", (("status", "101"), ("x-request-id", "1"), ("server", "x"))),
        Exchange("message 1", (("text", "hi"),)),
        Exchange("close", (("code", "1000"),)),
    )
    b = answer(
        "b",
        Exchange("handshake", (("server", "y"), ("x-request-id", "2"), ("status", "101"))),
        Exchange("close", (("code", "1000"),)),
    )
    rows = [(row.label, row.field, row.values, row.kind) for row in align([a, b])]
    assert rows == [
        ("handshake", "status", ("101", "101"), "same"),
        ("", "x-request-id", ("1", "2"), "varies"),
        ("", "server", ("x", "y"), "differs"),
        ("message 1", "text", ("hi", "—"), "differs"),
        ("close", "code", ("1000", "1000"), "same"),
    ]
