"""`python -m compare`: real source of both apps, layout by width, status from the report."""

from __future__ import annotations

import html
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from compare import UnknownBehaviour, find_behaviour
from compare.__main__ import main
from compare.report import Report, Result, Run, load, merge, save
from compare.site import build
from compare.source import SourceError, implementations, resolve
from compare.terminal import SIDE_BY_SIDE_MIN, use_color, visible_width
from shared.spec import Behaviour, spec
from shared.targets import PROJECT_ROOT, free_port, load_targets

BEHAVIOURS = spec().behaviours
IDS = [b.id for b in BEHAVIOURS]
TARGETS = list(load_targets())


def show(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["show", *args]) == 0
    return capsys.readouterr().out


def result(target: str, behaviour: Behaviour, index: int, outcome: str, **extra: str) -> Result:
    return Result(
        target=target,
        behaviour=behaviour.id,
        case=index + 1,
        name=behaviour.cases[index].name,
        outcome=outcome,  # type: ignore[arg-type]
        ran_at="2030-01-02T03:04:05Z",
        **extra,  # type: ignore[arg-type]
    )


def run(*targets: str, started: str = "2030-01-02T03:04:05Z") -> Run:
    return Run(started, started, {t: "started" for t in targets}, {"passed": 1}, 0)


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=IDS)
def test_every_behaviour_has_notes_on_what_differs(behaviour: Behaviour) -> None:
    assert len(behaviour.notes.split()) >= 8, f"{behaviour.source}: {behaviour.id} needs `notes`"


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=IDS)
def test_show_resolves_the_real_source_of_both_apps(behaviour: Behaviour) -> None:
    found = implementations(behaviour)
    assert list(found) == ["aiohttp", "django"]
    for app, sources in found.items():
        assert [s.ref for s in sources] == list(behaviour.implementations[app])
        for source in sources:
            # Never a copy: the text is the file's own lines at the place it says.
            lines = (PROJECT_ROOT / source.path).read_text(encoding="utf-8").splitlines(True)
            assert source.code == textwrap.dedent("".join(lines[source.start - 1 : source.end]))
            qualname = source.ref.partition(":")[2].rpartition(".")[2]
            assert re.search(rf"\b{re.escape(qualname)}\b", source.code), source.ref
        handler = sources[0]
        assert handler.routes, f"{handler.ref}: no line of {app}_app registers it"


def test_ws_echo_shows_both_handlers_with_their_route_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = show(capsys, "ws-echo", "--width", "200", "--color", "never")
    for text in (
        "async def echo(request: web.Request)",
        "async for msg in ws:",
        "class EchoConsumer(AsyncWebsocketConsumer):",
        'web.get("/ws/echo", websockets.echo',
        'path("ws/echo", consumers.EchoConsumer.as_asgi()',
        "What differs",
    ):
        assert text in out


def test_module_level_names_resolve_through_their_assignment() -> None:
    source = resolve("shared.validation:WS_MAX_MESSAGE_BYTES")
    assert source.code.startswith("WS_MAX_MESSAGE_BYTES = ")
    assert source.path == "shared/validation.py"
    with pytest.raises(SourceError, match="no attribute 'nothing_here'"):
        resolve("shared.validation:nothing_here")
    with pytest.raises(SourceError, match="cannot import"):
        resolve("shared.no_such_module:thing")


def test_side_by_side_when_wide(capsys: pytest.CaptureFixture[str]) -> None:
    out = show(capsys, "ws-echo", "--width", str(SIDE_BY_SIDE_MIN), "--color", "never")
    lines = out.splitlines()
    assert all(visible_width(line) <= SIDE_BY_SIDE_MIN for line in lines)
    both = [line for line in lines if "async def echo" in line and "class EchoConsumer" in line]
    assert both, "the two handlers start on the same line, in two columns"
    left_width = {visible_width(line.split(" │ ")[0]) for line in lines if " │ " in line}
    assert len(left_width) == 1, "the separator is in one column on every line"


def test_stacked_when_narrower_than_two_80_column_panes(capsys: pytest.CaptureFixture[str]) -> None:
    width = SIDE_BY_SIDE_MIN - 1
    assert width >= 2 * 80
    out = show(capsys, "ws-echo", "--width", str(width), "--color", "never")
    assert " │ " not in out
    assert all(visible_width(line) <= width for line in out.splitlines())
    assert out.index("async def echo") < out.index("class EchoConsumer")
    narrow = show(capsys, "ws-echo", "--width", "60", "--color", "never")
    assert all(visible_width(line) <= 60 for line in narrow.splitlines())
    assert "↳" in narrow, "a long line continues on the next one"


def test_color_only_when_asked_or_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "\x1b[" in show(capsys, "ws-echo", "--color", "always")
    assert "\x1b[" not in show(capsys, "ws-echo")  # captured output is not a tty

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())
    assert use_color(Tty(), "always")


def test_unknown_behaviour_is_a_clear_error_with_close_matches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["show", "ws-ecko"]) == 2
    err = capsys.readouterr().err
    assert "no behaviour 'ws-ecko'" in err
    assert "Did you mean: ws-echo" in err
    with pytest.raises(UnknownBehaviour) as raised:
        find_behaviour(spec(), "zzzz")
    assert raised.value.matches == []
    assert "Known: " + ", ".join(IDS) in str(raised.value)


@pytest.fixture
def report_path(tmp_path: Path) -> Path:
    """A report: hello passed on aiohttp, json failed there, ws-echo with one xfail on daphne."""
    hello, json_, echo = (spec().behaviour(i) for i in ("hello", "json", "ws-echo"))
    results = [result("aiohttp", hello, i, "passed") for i in range(len(hello.cases))]
    results.append(result("aiohttp", json_, 0, "failed", message="AssertionError: 500 != 200"))
    results += [result("django-daphne", echo, i, "passed") for i in range(len(echo.cases))]
    results[-len(echo.cases) + 2] = result(
        "django-daphne", echo, 2, "xfailed", reason="daphne drops it"
    )
    path = tmp_path / "report.json"
    save(merge(Report(path=path), results, run("aiohttp", "django-daphne")), path)
    return path


def test_matrix_reads_the_report_and_never_makes_up_a_pass(
    capsys: pytest.CaptureFixture[str], report_path: Path
) -> None:
    argv = ["matrix", "--report", str(report_path), "--color", "never", "--width", "200"]
    assert main(argv) == 1  # a failure
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    n_hello = len(spec().behaviour("hello").cases)
    assert re.match(
        rf"hello\s+pass {n_hello}/{n_hello}\s+not run\s+not run\s+not run$", rows["hello"]
    )
    assert re.match(r"json\s+FAIL 1/1 \[1\]\s+not run", rows["json"])
    assert "pass 6 + xfail 1 [2]" in rows["ws-echo"]
    assert "[1] FAILED, aiohttp json-1" in out and "AssertionError: 500 != 200" in out
    assert "[2] expected failure, django-daphne ws-echo-3" in out and "daphne drops it" in out
    assert re.match(r"delay\s+not run\s+not run\s+not run\s+not run$", rows["delay"])


def test_list_shows_purpose_seed_and_status(
    capsys: pytest.CaptureFixture[str], report_path: Path
) -> None:
    assert main(["list", "--report", str(report_path), "--width", "300", "--color", "never"]) == 0
    out = capsys.readouterr().out
    for behaviour in BEHAVIOURS:
        assert f"{behaviour.id}  " in out and behaviour.purpose in out
        assert f"seed: {behaviour.seed}" in out
    assert "aiohttp FAIL 1/1 · django-daphne not run" in out


def test_no_report_means_not_run_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["matrix", "--report", str(tmp_path / "none.json"), "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "pass" not in out and "FAIL" not in out
    assert out.count("not run") == len(BEHAVIOURS) * len(TARGETS)
    assert "no parity results yet" in out


def test_a_run_of_one_target_only_replaces_its_own_rows() -> None:
    hello = spec().behaviour("hello")
    old = merge(
        Report(),
        [result("aiohttp", hello, 0, "failed"), result("django-daphne", hello, 0, "failed")],
        run("aiohttp", "django-daphne"),
    )
    new = merge(old, [result("aiohttp", hello, 0, "passed")], run("aiohttp", started="2030-02"))
    outcomes = {(r.target, r.case): r.outcome for r in new.results}
    assert outcomes == {("aiohttp", 1): "passed", ("django-daphne", 1): "failed"}
    assert [r.targets for r in new.runs] == [
        {"aiohttp": "started", "django-daphne": "started"},
        {"aiohttp": "started"},
    ]


def test_a_result_for_a_renamed_case_no_longer_counts(tmp_path: Path) -> None:
    hello = spec().behaviour("hello")
    stale = Result("aiohttp", "hello", 1, "an older name", "passed")
    report = merge(Report(), [stale], run("aiohttp"))
    assert report.result("aiohttp", hello, 0) is None


def test_the_plugin_merges_a_real_run_into_the_report(tmp_path: Path) -> None:
    """`--target aiohttp --target django-daphne` updates those rows and keeps django-uvicorn's."""
    path = tmp_path / "report.json"
    json_behaviour = spec().behaviour("json")
    save(merge(Report(), [result("django-uvicorn", json_behaviour, 0, "failed")], run("x")), path)
    tests = [
        "aiohttp-json-1",
        "django-daphne-json-1",
        "aiohttp-ws-echo-3",
        "django-daphne-ws-echo-3",
    ]
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--target=aiohttp", "--target=django-daphne",
            *(f"tests/test_parity.py::test_case[{test}]" for test in tests),
            f"--parity-report={path}", f"--basetemp={tmp_path / 'run'}",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"merged into {path}" in done.stdout
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = {(r["target"], r["behaviour"], r["case"]): r for r in data["results"]}
    assert rows[("django-uvicorn", "json", 1)]["outcome"] == "failed"  # not in this run: kept
    assert rows[("aiohttp", "json", 1)]["outcome"] == "passed"
    assert rows[("django-daphne", "json", 1)]["outcome"] == "passed"
    assert rows[("aiohttp", "ws-echo", 3)]["outcome"] == "passed"
    xfailed = rows[("django-daphne", "ws-echo", 3)]
    assert xfailed["outcome"] == "xfailed" and "daphne" in xfailed["reason"]
    assert data["runs"][-1]["targets"] == {"aiohttp": "started", "django-daphne": "started"}
    assert data["runs"][-1]["counts"]["passed"] == 3
    assert load(path).last_run is not None


def test_the_site_has_an_index_and_one_page_per_behaviour(
    tmp_path: Path, report_path: Path
) -> None:
    stale = tmp_path / "site" / "behaviours" / "gone.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("a behaviour that left the spec")
    pages = build(tmp_path / "site", load(report_path))
    assert sorted(p.name for p in pages) == sorted(["index.html", *(f"{i}.html" for i in IDS)])
    assert not stale.exists()
    assert (tmp_path / "site" / "style.css").read_text().count(".highlight") > 10
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for behaviour_id in IDS:
        assert f'href="behaviours/{behaviour_id}.html"' in index
    assert 'title="xfail case 3: daphne drops it"' in index
    echo = (tmp_path / "site" / "behaviours" / "ws-echo.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", echo))
    for expected in (
        "async def echo(request: web.Request)",
        "class EchoConsumer(AsyncWebsocketConsumer):",
        'web.get("/ws/echo", websockets.echo, name="ws-echo")',
        spec().behaviour("ws-echo").purpose,
        "What differs, and why",
    ):
        assert expected in text
    assert echo.count('<tr id="case-') == len(spec().behaviour("ws-echo").cases)
    assert 'href="http' not in index + echo, "the site works offline: no external links"


def test_the_compose_site_service_builds_and_serves_the_site(tmp_path: Path) -> None:
    """docker-compose.yml's `site` command and health check, run on the host on a free port."""
    config = subprocess.run(
        [str(Path(sys.executable).parent / "docker-compose"), "config", "--format", "json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert config.returncode == 0, config.stderr
    service = json.loads(config.stdout)["services"]["site"]
    port = free_port()
    env = {
        **os.environ,
        **service["environment"],
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SITE_DIR": str(tmp_path / "site"),
        "PARITY_REPORT": str(tmp_path / "no-report.json"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [arg.replace("$$", "$") for arg in service["command"]]  # `config` doubles each `$`
    kind, *probe = service["healthcheck"]["test"]
    assert kind == "CMD"
    log = tmp_path / "site.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(probe, env=env, capture_output=True, check=False).returncode:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not healthy within 60 s\n{log.read_text()}"
            time.sleep(0.3)
        page = f"http://127.0.0.1:{port}/behaviours/ws-echo.html"
        with urllib.request.urlopen(page, timeout=10) as response:
            text = html.unescape(re.sub(r"<[^>]+>", "", response.read().decode()))
        assert "async def echo" in text and "class EchoConsumer" in text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_make_run_serves_the_site_and_stops_cleanly_on_ctrl_c() -> None:
    """`python -m shared.serve --site PORT ...` (as in `make run`) builds and serves var/site."""
    site_port, app_port = free_port(), free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "shared.serve", "--site", str(site_port), f"aiohttp={app_port}"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        try:
            printed = ""
            while "Try:" not in printed:
                line = process.stdout.readline()
                assert line, f"exited with {process.poll()}:\n{printed}"
                printed += line
            assert f"http://127.0.0.1:{site_port}/" in printed
            url = f"http://127.0.0.1:{site_port}/index.html"
            with urllib.request.urlopen(url, timeout=10) as response:
                index = response.read().decode()
            assert all(f'href="behaviours/{i}.html"' in index for i in IDS)
        finally:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert process.wait(timeout=20) == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", site_port), timeout=2).close()
