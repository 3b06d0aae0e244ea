"""What `make run` runs: both apps come up, the printed curl and `try` lines work, Ctrl-C stops
everything."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from compare.report import load
from shared.harness.targets import PROJECT_ROOT, free_port
from shared.spec import spec


class Output:
    """A process's output, read by a thread: a wait for a line keeps its deadline even when the
    process prints nothing more."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = process
        threading.Thread(target=self.pump, daemon=True).start()

    def pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")  # the end

    def until(self, marker: str, timeout: float) -> str:
        """Every line up to and including the one with `marker`."""
        seen = ""
        deadline = time.monotonic() + timeout
        while marker not in seen:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {timeout} s:\n{seen}") from None
            assert line, f"the supervisor exited ({self.process.poll()}) before {marker!r}:\n{seen}"
            seen += line
        return seen


def start_live(
    tmp_path: Path, *args: str, site: bool = True
) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """`python -m compare.live` as `make run` starts it (with the site unless `site` is false), on
    free ports, its site, report and data under tmp_path."""
    ports = {name: free_port() for name in ("site", "aiohttp", "django-daphne")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compare.live",
            f"--report={tmp_path / 'report.json'}",
            f"--site-dir={tmp_path / 'site'}",
            *args,
            *([f"--site={ports['site']}"] if site else []),
            f"aiohttp={ports['aiohttp']}",
            f"django-daphne={ports['django-daphne']}",
        ],
        cwd=PROJECT_ROOT,
        # One SQLite file for both apps (their tables have different names) and one folder.
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "FILES_DIR": str(tmp_path / "files"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return process, ports


def stop(process: subprocess.Popen[str]) -> int:
    """Ctrl-C, and the supervisor's exit status; killed if it does not stop in time."""
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def site_page(port: int, timeout: float = 90) -> str:
    """The site's index as soon as its server answers (it starts before the apps)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(f"http://127.0.0.1:{port}/index.html")
        except OSError:
            assert time.monotonic() < deadline, "the site never answered"
            time.sleep(0.1)


def test_serve_prints_working_curl_and_try_lines_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process, ports = start_live(tmp_path, site=False)
    aiohttp_port, django_port = ports["aiohttp"], ports["django-daphne"]
    with process:
        try:
            output = Output(process)
            printed = output.until("Try:", timeout=60) + output.until("\n\n", timeout=5)
            assert f"http://127.0.0.1:{aiohttp_port}" in printed
            assert f"http://127.0.0.1:{django_port}" in printed
            curl_lines = re.findall(r"^\s+(curl .+)$", printed, re.MULTILINE)
            assert len(curl_lines) == 2
            for line, port in zip(curl_lines, (aiohttp_port, django_port), strict=True):
                assert f":{port}/" in line
                done = subprocess.run(
                    ["sh", "-c", line], capture_output=True, text=True, timeout=30
                )
                assert done.returncode == 0, done.stderr
                assert done.stdout == 'Hello, Ada{"slept": 0.5}'
            try_lines = re.findall(r"^\s+(\S+ -m compare try .+)$", printed, re.MULTILINE)
            assert [line.split()[4] for line in try_lines] == ["ws-echo", "chat"]
            for line in try_lines:
                assert f"aiohttp=http://127.0.0.1:{aiohttp_port}" in line
                assert f"django-daphne=http://127.0.0.1:{django_port}" in line
                done = subprocess.run(
                    [*line.split(), "--color=never"],
                    cwd=PROJECT_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 0, done.stdout + done.stderr
                assert "meets the spec" in done.stdout
            assert stop(process) == 0
        finally:
            if process.poll() is None:  # a failed assertion must not leave servers behind
                stop(process)
    for port in (aiohttp_port, django_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_make_run_fills_the_site_statuses_with_a_parity_run_on_its_servers(
    tmp_path: Path,
) -> None:
    """The site says a run is coming; the run's outcomes reach the report, the site is rebuilt
    with them (a column for each target served, none for the others) and the terminal says so."""
    process, ports = start_live(tmp_path, "--statuses-k=hello")
    with process:
        try:
            first = site_page(ports["site"])
            assert 'class="notice"' in first and "tests/test_parity.py</code> is running" in first
            # Minutes, not seconds, only on a machine busy with other work.
            printed = Output(process).until("Statuses: tests/test_parity.py on", timeout=300)
            cases = len(spec().behaviour("hello").cases)
            assert re.search(rf"on aiohttp and django-daphne: {2 * cases} passed in \d+ s", printed)
            report = load(tmp_path / "report.json")
            run = report.last_run
            assert run is not None and run.exit_status == 0
            assert run.targets == {
                name: f"http://127.0.0.1:{ports[name]}" for name in ("aiohttp", "django-daphne")
            }
            assert {(r.target, r.behaviour, r.outcome) for r in report.results} == {
                ("aiohttp", "hello", "passed"),
                ("django-daphne", "hello", "passed"),
            }
            index = get(f"http://127.0.0.1:{ports['site']}/index.html")
            assert 'class="notice"' not in index
            hello = re.search(r'<th><a href="behaviours/hello.html">.*?</tr>', index)
            assert hello is not None
            assert re.findall(r'class="status (\w+)"', hello[0]) == ["pass", "pass"]
            assert f"pass {cases}/{cases}" in hello[0]
            assert "no result yet for aiohttp-best, aiohttp-gunicorn, django-uvicorn" in index
            assert stop(process) == 0
        finally:
            if process.poll() is None:
                stop(process)


def parity_runs(pid: int) -> list[psutil.Process]:
    """The processes under `pid` running tests/test_parity.py."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "tests/test_parity.py" in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_ctrl_c_during_the_parity_run_ends_it_first_and_records_nothing(tmp_path: Path) -> None:
    """The run is stopped before the servers, so that none of them going away reads as a failed
    case in the report."""
    process, _ = start_live(tmp_path)
    with process:
        try:
            Output(process).until("is running on these servers in the background", timeout=120)
            runs = parity_runs(process.pid)
            deadline = time.monotonic() + 60  # it is started just after the line; a busy machine
            while not runs and time.monotonic() < deadline:
                time.sleep(0.2)
                runs = parity_runs(process.pid)
            assert len(runs) == 1, "one parity run"
            time.sleep(2)  # under way
            assert stop(process) == 0
            assert not runs[0].is_running()
        finally:
            if process.poll() is None:
                stop(process)
    assert not (tmp_path / "report.json").exists(), "a stopped run records nothing"
