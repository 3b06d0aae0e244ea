"""shared.harness.targets.Server with companions, and the upstream service it starts for /fanout."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.harness.expected import expected
from shared.harness.targets import Server, Target, load_targets
from shared.harness.upstream import SERVICE as UPSTREAM
from shared.spec import NEEDS, spec
from tests.plugins.expected import pytest_itemcollected
from tests.plugins.servers import TARGETS

PYTHON = sys.executable
# A server that answers any path (404 is an answer) and a companion that runs until stopped.
HTTP_SERVER = ("{python}", "-m", "http.server", "--bind", "{host}", "{port}")
SLEEPER = ("{python}", "-c", "import time; time.sleep(60)")


def target(*companions: tuple[str, ...]) -> Target:
    return Target(
        name="test", app="aiohttp", server="http.server", command=HTTP_SERVER, companions=companions
    )


def test_the_registry_reads_companions(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[one]\napp = "django"\nserver = "s"\ncommand = ["x"]\n'
        'companions = [["{python}", "-m", "a"], ["{python}", "-m", "b"]]\n'
        '[two]\napp = "aiohttp"\nserver = "s"\ncommand = ["y"]\n',
        encoding="utf-8",
    )
    targets = load_targets(path)
    assert targets["one"].companions == (("{python}", "-m", "a"), ("{python}", "-m", "b"))
    assert targets["two"].companions == ()


def test_lacks_is_declared_in_the_registry_of_expected_differences(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[one]\napp = "django"\nserver = "s"\ncommand = ["x"]\nlacks.overlap = "x.py:1"\n'
    )
    with pytest.raises(
        ValueError, match=r"target 'one': `lacks` is declared in shared/harness/expected"
    ):
        load_targets(path)


def test_an_unknown_need_in_a_marker_stops_the_run() -> None:
    class Item:
        nodeid = "tests/test_x.py::test_y"

        def iter_markers(self, name: str) -> list[pytest.Mark]:
            return [pytest.mark.needs("overlap", "threads").mark] if name == "needs" else []

    with pytest.raises(pytest.UsageError, match=r"test_y: unknown need 'threads'"):
        pytest_itemcollected(Item())  # type: ignore[arg-type]  # a stand-in: the hook reads two attributes


def test_the_project_s_lacks_are_declared_where_they_are_tested() -> None:
    """Each need some target lacks is needed by a case of the spec or a test's marker."""
    lacked = {need for name in TARGETS for need in expected().lacks(name)}
    by_cases = {need for b in spec().behaviours for case in b.cases for need in case.needs}
    marked = set(re.findall(r'needs\(((?:"[a-z-]+"(?:, )?)+)\)', suite_source()))
    by_markers = {need for group in marked for need in re.findall(r'"([a-z-]+)"', group)}
    assert lacked <= by_cases | by_markers
    assert by_markers <= set(NEEDS)


def suite_source() -> str:
    """The other test modules' text, where their needs markers are."""
    modules = set(Path(__file__).parent.glob("test_*.py")) - {Path(__file__)}
    return "".join(path.read_text(encoding="utf-8") for path in sorted(modules))


def test_every_django_target_and_aiohttp_on_redis_run_their_workers() -> None:
    """Django: the heartbeat and the Tasks worker; aiohttp with Redis: saq's worker (its jobs
    queue there; without Redis they are tasks of the server)."""
    for found in load_targets().values():
        if found.app == "django":
            expected = [["django_app", "heartbeat"], ["django_app", "task_worker"]]
        elif "redis" in found.requires:
            expected = [["saq", "aiohttp_app.concurrency.worker.settings"]]
        else:
            expected = []
        modules = [list(argv[argv.index("-m") + 1 :][:2]) for argv in found.companions]
        assert modules == expected, found.name


def test_companions_run_beside_the_server_and_stop_with_it(tmp_path: Path) -> None:
    server = Server(target(SLEEPER, SLEEPER), log_path=tmp_path / "log")
    with server:
        assert server.running
        assert len(server.companions) == 2
        assert all(companion.poll() is None for companion in server.companions)
        assert httpx.get(server.base_url + "/").status_code == 200
    assert server.process is not None and server.process.poll() is not None
    assert all(companion.poll() is not None for companion in server.companions)
    assert not server.running


def test_a_companion_that_exits_fails_the_start_and_stops_the_rest(tmp_path: Path) -> None:
    failing = ("{python}", "-c", "print('no database'); raise SystemExit(3)")
    server = Server(target(SLEEPER, failing), log_path=tmp_path / "log")
    with pytest.raises(RuntimeError, match=r"test's companion `-c .*` exited with 3") as raised:
        server.start(timeout=20)
    assert "no database" in str(raised.value)  # the log's tail comes with it
    assert server.process is not None and server.process.poll() is not None
    assert all(companion.poll() is not None for companion in server.companions)


def test_running_turns_false_when_a_companion_dies(tmp_path: Path) -> None:
    short = ("{python}", "-c", "import time; time.sleep(2)")
    with Server(target(short), log_path=tmp_path / "log") as server:

        def running() -> bool:  # read afresh each time (mypy keeps what an assert narrowed)
            return server.running

        assert running()
        deadline = time.monotonic() + 20
        while running():
            assert time.monotonic() < deadline, "the companion should have exited after 2 s"
            time.sleep(0.1)
        assert server.process is not None and server.process.poll() is None  # the server runs on


def test_the_upstream_service_sleeps_then_answers_the_status_asked(tmp_path: Path) -> None:
    with Server(UPSTREAM, log_path=tmp_path / "log") as upstream:
        with httpx.Client(base_url=upstream.base_url) as client:
            before = client.get("/upstream/stats").json()
            started = time.perf_counter()
            failed = client.get("/upstream", params={"delay": 0.2, "status": 503})
            assert time.perf_counter() - started >= 0.2
            assert failed.status_code == 503
            assert failed.json() == {"delay": 0.2, "status": 503}
            assert client.get("/upstream").json() == {"delay": 0.0, "status": 200}
            refused = client.get("/upstream", params={"delay": "later"})
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "invalid_parameter"
            after = client.get("/upstream/stats").json()
    # Two requests counted (not the 400), over the one connection this client keeps alive.
    assert after["requests"] - before["requests"] == 2
    assert after["connections"] - before["connections"] == 1


def test_a_target_requiring_redis_gets_redis_url_or_the_local_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[one]\napp = "aiohttp"\nserver = "s"\ncommand = ["x"]\nrequires = ["redis"]\n'
        'env = { REDIS_URL = "{redis_url}" }\n',
        encoding="utf-8",
    )
    one = load_targets(path)["one"]
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert one.environment() == {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert one.environment() == {"REDIS_URL": "redis://127.0.0.1:1/0"}
    reason = one.unavailable()
    assert reason is not None and reason.startswith("one needs Redis, and none answers at redis://")
    path.write_text(path.read_text().replace('"redis"', '"memcached"'), encoding="utf-8")
    with pytest.raises(ValueError, match=r"target 'one': requires \['memcached'\]"):
        load_targets(path)
