"""What `make run` runs: both apps come up, the printed curl and `try` lines work, Ctrl-C stops
everything."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.harness.targets import PROJECT_ROOT, free_port


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} within {timeout} s:\n{seen}"
        line = process.stdout.readline()
        assert line, f"the supervisor exited ({process.poll()}) before {marker!r}:\n{seen}"
        seen += line
    return seen


def test_serve_prints_working_curl_and_try_lines_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    aiohttp_port, django_port = free_port(), free_port()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compare.live",
            f"aiohttp={aiohttp_port}",
            f"django-daphne={django_port}",
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
    ) as process:
        try:
            printed = read_until(process, "Try:", timeout=60) + read_until(
                process, "\n\n", timeout=5
            )
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
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:  # a failed assertion must not leave servers behind
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
    for port in (aiohttp_port, django_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
