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
from compare.report import Outcome, Report, Result, Run, load, merge, save
from compare.site import build
from compare.source import SourceError, implementations, resolve
from compare.terminal import SIDE_BY_SIDE_MIN, use_color, visible_width
from shared.harness.targets import PROJECT_ROOT, free_port, load_targets
from shared.runtime.openapi import read_document
from shared.spec import Behaviour, HttpCase, spec

BEHAVIOURS = spec().behaviours
IDS = [b.id for b in BEHAVIOURS]
TARGETS = list(load_targets())


def show(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["show", *args]) == 0
    return capsys.readouterr().out


def result(
    target: str,
    behaviour: Behaviour,
    index: int,
    outcome: Outcome,
    reason: str = "",
    message: str = "",
) -> Result:
    return Result(
        target=target,
        behaviour=behaviour.id,
        case=index + 1,
        name=behaviour.cases[index].name,
        outcome=outcome,
        reason=reason,
        message=message,
        ran_at="2030-01-02T03:04:05Z",
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
    source = resolve("shared.runtime.validation:WS_MAX_MESSAGE_BYTES")
    assert source.code.startswith("WS_MAX_MESSAGE_BYTES = ")
    assert source.path == "shared/runtime/validation.py"
    with pytest.raises(SourceError, match="no attribute 'nothing_here'"):
        resolve("shared.runtime.validation:nothing_here")
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
    others = len(TARGETS) - 1
    assert re.match(rf"hello\s+pass {n_hello}/{n_hello}(\s+not run){{{others}}}$", rows["hello"])
    assert re.match(r"json\s+FAIL 1/1 \[1\]\s+not run", rows["json"])
    assert "pass 6 + xfail 1 [2]" in rows["ws-echo"]
    assert "[1] FAILED, aiohttp json-1" in out and "AssertionError: 500 != 200" in out
    assert "[2] expected failure, django-daphne ws-echo-3" in out and "daphne drops it" in out
    assert re.match(rf"delay(\s+not run){{{len(TARGETS)}}}$", rows["delay"])


def test_list_shows_purpose_seed_and_status(
    capsys: pytest.CaptureFixture[str], report_path: Path
) -> None:
    assert main(["list", "--report", str(report_path), "--width", "300", "--color", "never"]) == 0
    out = capsys.readouterr().out
    for behaviour in BEHAVIOURS:
        assert f"{behaviour.id}  " in out and behaviour.purpose in out
        assert f"seed: {behaviour.seed}" in out
    assert re.search(r"aiohttp FAIL 1/1 · (\S+ not run · )*django-daphne not run", out)


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
            "tests/test_parity_concurrency.py::test_sse_resumes_after_last_event_id[aiohttp]",
            "tests/test_parity_realtime.py::test_message_length_in_characters[aiohttp-4097-characters]",
            "tests/test_parity_data.py::test_an_unhandled_error_is_logged_and_not_sent[django-daphne]",
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
    assert data["runs"][-1]["counts"]["passed"] == 6
    others = {(r["target"], r["behaviour"], r["test"]): r for r in data["results"] if r["test"]}
    assert {key: (r["case"], r["name"], r["outcome"]) for key, r in others.items()} == {
        ("aiohttp", "sse",
         "tests/test_parity_concurrency.py::test_sse_resumes_after_last_event_id"):
            (0, "test_sse_resumes_after_last_event_id", "passed"),
        ("aiohttp", "chat",
         "tests/test_parity_realtime.py::test_message_length_in_characters[4097-characters]"):
            (0, "test_message_length_in_characters[4097-characters]", "passed"),
        ("django-daphne", "errors",
         "tests/test_parity_data.py::test_an_unhandled_error_is_logged_and_not_sent"):
            (0, "test_an_unhandled_error_is_logged_and_not_sent", "passed"),
    }  # fmt: skip
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
        'web.get("/ws/echo", websockets.echo, name="ws-echo", allow_head=False)',
        spec().behaviour("ws-echo").purpose,
        "What differs, and why",
    ):
        assert expected in text
    assert echo.count('<tr id="case-') == len(spec().behaviour("ws-echo").cases)
    assert 'href="http' not in index + echo, "the site works offline: no external links"


def test_the_site_lists_every_route_beside_the_openapi_document(
    tmp_path: Path, report_path: Path
) -> None:
    build(tmp_path / "site", load(report_path))
    api = (tmp_path / "site" / "api.html").read_text(encoding="utf-8")
    for route in spec().routes:
        assert f"<code>{html.escape(route.key)}</code>" in api
    assert 'href="openapi.json"' in api and 'href="api.html"' in (
        tmp_path / "site" / "index.html"
    ).read_text(encoding="utf-8")
    assert (tmp_path / "site" / "openapi.json").read_bytes() == read_document()


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
        # It builds the site first: generous, as under make test's load it may take a minute.
        deadline = time.monotonic() + 180
        while subprocess.run(probe, env=env, capture_output=True, check=False).returncode:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not healthy within 180 s\n{log.read_text()}"
            time.sleep(0.3)
        page = f"http://127.0.0.1:{port}/behaviours/ws-echo.html"
        with urllib.request.urlopen(page, timeout=10) as response:
            text = html.unescape(re.sub(r"<[^>]+>", "", response.read().decode()))
        assert "async def echo" in text and "class EchoConsumer" in text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_make_run_serves_the_site_and_stops_cleanly_on_ctrl_c() -> None:
    """`python -m compare site`, then `shared.harness.serve --site PORT ...`, as `make run`."""
    subprocess.run([sys.executable, "-m", "compare", "site"], cwd=PROJECT_ROOT, check=True)
    site_port, app_port = free_port(), free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "shared.harness.serve", "--site", str(site_port),
         f"aiohttp={app_port}"],
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


def bench_results() -> dict[str, object]:
    """A small results JSON of `python -m compare bench`: json and ws-echo-1, two rounds."""

    def measured(
        item: str, kind: str, subject: str, round_: int, value: float
    ) -> dict[str, object]:
        metric = "rps" if kind == "http" else "msgs_per_s"
        return {
            "item": item, "behaviour": item.removesuffix("-1"), "kind": kind, "subject": subject,
            "round": round_, "status": "ok", "seconds": 1.0,
            "metrics": {metric: value, "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.0},
            "errors": 0, "server": {"cpu_s": 0.9, "cpu_pct": 90.0, "peak_rss_mib": 70.0},
            "generator_cpu_pct": 50.0, "notes": [],
        }  # fmt: skip

    values = {"aiohttp": 1000.0, "django-uvicorn": 250.0}
    return {
        "schema": 1, "started": "2030-01-02T03:04:05+00:00", "note": "",
        "machine": {"cpu_model": "Test CPU", "cores": 2, "memory_gib": 1.0, "os": "Linux",
                    "load_average": [0.1, 0.1, 0.1]},
        "versions": {"python": "3.13.0", "packages": {"aiohttp": "3", "Django": "6"}},
        "settings": {"pinning": {"about": "servers on CPU 0"}, "generator": {"name": "wrk"},
                     "connections": 64, "workers": 1, "rounds": 2, "duration_s": 1.0,
                     "warmup_s": 0.0, "others_paused": "others paused"},
        "subjects": {name: {"role": "target", "app": name.split("-")[0], "server": name,
                            "of": None, "command": [], "unavailable": None} for name in values},
        "items": [
            {"id": "json", "behaviour": "json", "kind": "http", "request": "GET /json",
             "primary": "rps", "higher_is_better": True, "ideal": None},
            {"id": "ws-echo-1", "behaviour": "ws-echo", "kind": "ws-echo",
             "request": "websocket /ws/echo", "primary": "msgs_per_s", "higher_is_better": True,
             "ideal": None},
        ],
        "measurements": [
            measured(item, kind, name, r, value * r)
            for item, kind in (("json", "http"), ("ws-echo-1", "ws-echo"))
            for r in (1, 2)
            for name, value in values.items()
        ],
    }  # fmt: skip


def test_the_site_shows_the_bench_plots_per_behaviour_and_an_overview(
    tmp_path: Path, report_path: Path
) -> None:
    from compare.bench import plots

    results = bench_results()
    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    (bench_dir / "results.json").write_text(json.dumps(results))
    plots.write(results, bench_dir)
    site = tmp_path / "site"
    build(site, load(report_path), bench_dir=bench_dir)
    overview = (site / "bench.html").read_text(encoding="utf-8")
    assert 'src="bench/overview.svg"' in overview and 'src="bench/json.svg"' in overview
    text = html.unescape(re.sub(r"<[^>]+>", "", overview))
    assert "Test CPU, 2 cores" in text
    assert "375 (250–500) ×0.25" in text, "median (min–max) and the ratio within each round"
    assert 'href="bench.html"' in (site / "index.html").read_text(encoding="utf-8")
    pages = {b: (site / "behaviours" / f"{b}.html").read_text(encoding="utf-8") for b in IDS}
    assert 'src="../bench/json.svg"' in pages["json"]
    # ws-greet names ws-echo's scenarios in compare/bench/bench.toml: its page shows them too.
    for behaviour in ("ws-echo", "ws-greet"):
        assert 'src="../bench/ws-echo-1.svg"' in pages[behaviour]
    assert "Not measured by the bench" in pages["hello"]
    for source in re.findall(r'src="\.\./(bench/[^"]+)"', "".join(pages.values())):
        assert (site / source).stat().st_size > 1000, source


def test_without_bench_results_the_pages_say_how_to_get_them(
    tmp_path: Path, report_path: Path
) -> None:
    build(tmp_path / "site", load(report_path), bench_dir=tmp_path / "nothing-here")
    overview = (tmp_path / "site" / "bench.html").read_text(encoding="utf-8")
    assert "No bench results yet" in overview and "<img" not in overview


def page_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def case_blocks(page: str) -> list[str]:
    """The rows of each case of a behaviour page's cases table, as text, in order."""
    table = page[page.index('<table class="cases"') :]
    table = table[: table.index("</table>")]
    return [" ".join(page_text(block).split()) for block in table.split('<tr id="case-')[1:]]


@pytest.fixture(scope="module")
def site_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every page of the site built from the spec and an empty report: path -> markup."""
    out = tmp_path_factory.mktemp("site")
    build(out, Report(), bench_dir=out / "no-bench")
    return {
        page.relative_to(out).as_posix(): page.read_text(encoding="utf-8")
        for page in out.rglob("*.html")
    }


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=IDS)
def test_the_cases_table_shows_every_step_of_every_case_in_order(
    behaviour: Behaviour, site_pages: dict[str, str]
) -> None:
    blocks = case_blocks(site_pages[f"behaviours/{behaviour.id}.html"])
    assert len(blocks) == len(behaviour.cases)
    for case, block in zip(behaviour.cases, blocks, strict=True):
        if isinstance(case, HttpCase):
            expected = [f"{step.request.method} {step.request.path}" for step in case.steps] + [
                f"status {step.expect.status}" for step in case.steps
            ]
            sent = [f"{step.request.method} {step.request.path}" for step in case.steps]
        else:
            sent = [f"WS {case.path}"] + [
                json.dumps(step.payload.text, ensure_ascii=False)
                for step in case.steps
                if step.kind == "send_text" and step.payload and len(step.payload.text or "") < 50
            ]
            expected = sent + [f"close {step.code}" for step in case.steps if step.code]
        for text in expected:
            assert text in block, f"{case.name}: {text!r} not shown"
        positions: list[int] = []
        for text in sent:
            positions.append(block.index(text, positions[-1] + 1 if positions else 0))
        assert positions == sorted(positions), f"{case.name}: steps out of order"


def test_a_multi_step_case_reads_request_then_expected_step_by_step(
    site_pages: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    block = case_blocks(site_pages["behaviours/items.html"])[0]
    first, second = block.index("1. POST /items"), block.index("2. GET /items/{id}")
    assert first < block.index("status 201") < block.index("location: /items/{id}") < second
    assert second < block.index("status 200") and "saves {id} = id" in block
    out = show(capsys, "items", "--width", "120", "--color", "never")
    cases = out[out.index("\nCases\n") :]
    assert re.search(r"1\. create: 201.*\n\s+1\. POST /items · JSON ", cases)
    assert re.search(r"\n\s+→ status 201 · JSON containing", cases)
    assert re.search(r"\n\s+2\. GET /items/\{id\}\n\s+→ status 200 · JSON", cases)


def test_long_bodies_are_cut_short_and_every_page_stays_small(
    site_pages: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = {path: len(page.encode()) for path, page in site_pages.items()}
    assert max(sizes.values()) < 300_000, sorted(sizes.items(), key=lambda item: -item[1])[:3]
    errors = page_text(site_pages["behaviours/errors.html"])
    assert re.search(r'body\s+" {199}… \(1048577 bytes in all\)', errors)
    echo = page_text(site_pages["behaviours/ws-echo.html"])
    assert re.search(rf'text\s+"{"ü" * 199}… \(1048576 bytes in all\)', echo)
    out = show(capsys, "errors", "--width", "120", "--color", "never")
    assert len(out) < 60_000
    assert 'POST /items · content-type: application/json · body " … (1048577 bytes in all)' in out
    assert all(visible_width(line) <= 120 for line in out.splitlines())


def test_websocket_handshake_headers_and_multipart_parts_are_shown(
    site_pages: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    origin = case_blocks(site_pages["behaviours/ws-origin.html"])
    assert "WS /ws/greet origin: https://evil.example" in origin[2]
    assert any("no header origin" in block for block in origin)
    files = " ".join(page_text(site_pages["behaviours/files.html"]).split())
    for shown in (
        'file part file: filename "hello-{unique}.txt", text/plain, "hello" (5 bytes)',
        'filename "data.bin", Application/Octet-Stream; x=1, 00ff7f80fe0a0d (7 bytes, hex)',
        'filename "big.bin", 10485761 random bytes (seed 11)',
    ):
        assert shown in files
    out = " ".join(show(capsys, "ws-origin", "--width", "200", "--color", "never").split())
    assert "WS /ws/echo · origin: https://evil.example → status 403" in out
    assert "WS /ws/echo · no header origin → status 403" in out
    out = " ".join(show(capsys, "files", "--width", "200", "--color", "never").split())
    assert 'POST /files · file part file: filename "hello-{unique}.txt", text/plain' in out


def test_route_lines_come_from_wiring_modules_only() -> None:
    """A model used by views has no route lines; a view has its route, a middleware its entry."""
    for ref in ("aiohttp_app.data.models:Item", "django_app.data.models:Item"):
        assert resolve(ref).routes == (), ref
    assert [r.path for r in resolve("django_app.data.views:ItemsView").routes] == [
        "django_app/data/urls.py"
    ]
    middleware = resolve("django_app.concurrency.middleware:RequestIdMiddleware")
    assert [r.path for r in middleware.routes] == ["django_app/config/settings.py"]


def test_resolve_follows_functools_decorators_and_django_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = resolve("django_app.concurrency.tasks:run_job")
    assert task.path == "django_app/concurrency/tasks.py"
    assert task.code.startswith("@task\nasync def run_job(seconds: float) -> float:\n")
    assert not task.routes  # enqueued by a view: a use, not a route line
    cached = resolve("shared.runtime.errors:catalogue")
    assert cached.code.startswith("@cache\ndef catalogue()")
    module = tmp_path / "decorated_example.py"
    module.write_text(
        textwrap.dedent(
            '''\
            """Functions under functools decorators."""
            import functools


            def logged(function):
                @functools.wraps(function)
                def wrapper(*args):
                    return function(*args)

                return wrapper


            @functools.lru_cache(maxsize=8)
            def squared(n):
                return n * n


            # Both.
            @logged
            @functools.cache
            def cubed(n):
                return n * n * n
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    squared = resolve("decorated_example:squared")
    assert (squared.start, squared.code.splitlines()[1]) == (13, "def squared(n):")
    cubed = resolve("decorated_example:cubed")
    assert cubed.start == 18 and cubed.code.startswith("# Both.\n@logged\n@functools.cache\n")


def other_result(
    target: str, behaviour: str, test: str, outcome: Outcome, message: str = ""
) -> Result:
    """A result of a test outside the spec's cases."""
    return Result(
        target=target,
        behaviour=behaviour,
        case=0,
        name=test.partition("::")[2],
        outcome=outcome,
        message=message,
        ran_at="2030-01-02T03:04:05Z",
        test=test,
    )


def test_other_tests_of_a_behaviour_count_in_the_matrix_and_the_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sse, chat = spec().behaviour("sse"), spec().behaviour("chat")
    module = "tests/test_parity_concurrency.py"
    results = [result("aiohttp", sse, i, "passed") for i in range(len(sse.cases))]
    results += [
        other_result("aiohttp", "sse", f"{module}::test_sse_resumes_after_last_event_id", "passed"),
        other_result("aiohttp", "sse", f"{module}::test_sse_backlog", "passed"),
        other_result(
            "django-daphne", "chat", "tests/test_parity_realtime.py::test_two_members", "failed",
            message="AssertionError: no join frame",
        ),
    ]  # fmt: skip
    path = tmp_path / "report.json"
    save(merge(Report(path=path), results, run("aiohttp", "django-daphne")), path)
    report = load(path)
    assert [r.name for r in report.tests("aiohttp", sse)] == [
        "test_sse_backlog",
        "test_sse_resumes_after_last_event_id",
    ]
    assert main(["matrix", "--report", str(path), "--color", "never", "--width", "200"]) == 1
    out = capsys.readouterr().out
    cells = {
        line.split()[0]: dict(zip(TARGETS, re.split(r"\s{2,}", line.strip())[1:], strict=True))
        for line in out.splitlines()
        if line.split() and line.split()[0] in ("sse", "chat")
    }
    n = len(sse.cases)
    assert cells["sse"]["aiohttp"] == f"pass {n}/{n} + 2/2 tests"
    assert cells["chat"]["aiohttp"] == "not run"
    assert cells["chat"]["django-daphne"] == "not run + tests FAIL 1/1 [1]"
    assert "[1] FAILED, django-daphne test_two_members: AssertionError: no join frame" in out
    build(tmp_path / "site", report, bench_dir=tmp_path / "no-bench")
    page = (tmp_path / "site" / "behaviours" / "sse.html").read_text(encoding="utf-8")
    tests = page_text(page[page.index('id="tests"') :])
    assert re.search(r"test_sse_resumes_after_last_event_id\s+" + re.escape(module), tests)
    # The site shows the targets the report has results for: here aiohttp and django-daphne.
    assert re.search(r"test_sse_backlog\s+\S+\s+passed\s+not run\s*$", tests, re.M), tests
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert f"pass {n}/{n} + 2/2 tests" in index
    assert 'title="FAILED test_two_members: AssertionError: no join frame"' in index
    assert "other tests" not in (tmp_path / "site" / "behaviours" / "json.html").read_text().lower()
    assert chat.id in index


def test_every_per_target_test_outside_the_spec_says_which_behaviour_it_checks(
    tmp_path: Path,
) -> None:
    """Collected as pytest does: each test with a `target` parameter maps to a spec behaviour."""
    (tmp_path / "list_behaviours.py").write_text(
        textwrap.dedent(
            """\
            import json

            FOUND = {}


            def pytest_itemcollected(item):
                from tests.plugins.report import behaviour_of  # here: pytest imports it first

                callspec = getattr(item, "callspec", None)
                if callspec and "target" in callspec.params and "case" not in callspec.params:
                    FOUND[item.nodeid] = behaviour_of(item)


            def pytest_collection_finish(session):
                print("FOUND " + json.dumps(FOUND))
            """
        )
    )
    modules = sorted(
        p.relative_to(PROJECT_ROOT).as_posix() for p in PROJECT_ROOT.glob("tests/test_parity_*.py")
    )
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
            "-p", "list_behaviours", "--target=aiohttp", "--parity-report=", *modules,
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{PROJECT_ROOT}"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("FOUND "))
    found: dict[str, str | None] = json.loads(line.removeprefix("FOUND "))
    assert len(found) > 20
    assert {test: b for test, b in found.items() if b not in IDS} == {}
