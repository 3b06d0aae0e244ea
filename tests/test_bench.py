"""`python -m compare bench`: a few-seconds smoke run and its outputs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.exceptions import InvalidStatus

from compare import docs as generated
from compare.bench import calls, history, openloop, parts, plan, plots
from compare.bench import cli as bench_cli
from compare.bench import config as bench_config
from compare.bench import report as bench_report
from compare.bench import site as bench_site
from compare.bench.config import Scenario
from compare.bench.load import HttpLoad, Wrk, WrkNotFound
from compare.bench.openloop import Step
from compare.bench.runner import Options, execute, prepare_http, quietness
from compare.bench.scenarios import open_ws, percentiles
from compare.bench.scenarios import run as run_scenario
from compare.bench.system import Pinning, Sampler, others_pct
from shared.harness.targets import PROJECT_ROOT, Server, load_targets
from shared.spec import spec

COMMITTED = PROJECT_ROOT / "docs" / "bench" / "results.json"
SVG = "{http://www.w3.org/2000/svg}svg"


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compare", "bench", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_every_behaviour_of_the_spec_has_a_main_case_or_scenarios() -> None:
    config = bench_config.load(spec())
    missing = bench_config.unmeasured(config, spec())
    assert not missing, f"compare/bench/bench.toml: add a [main] entry for {', '.join(missing)}"
    for main in config.main.values():
        assert main.steps or main.scenarios, main.behaviour
        if main.steps:
            assert main.measured.request.method in ("GET", "HEAD", "POST"), main.behaviour
    baselines = config.baselines
    assert baselines["aiohttp-hello"].of == "aiohttp"
    # The Django baseline runs under the server of the target it is compared with.
    assert baselines["django-hello"].of == "django-uvicorn"
    assert (
        baselines["django-hello"].target.command[:3] == load_targets()["django-uvicorn"].command[:3]
    )
    assert not set(baselines) & set(load_targets()), "baselines stay out of the parity suite"


def test_a_bad_bench_toml_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    with pytest.raises(bench_config.BenchConfigError, match=r"main\.nope: no such behaviour"):
        bench_config.parse(path, '[main]\nnope = { case = "json-1" }\n', spec())
    with pytest.raises(bench_config.BenchConfigError, match=r"main\.json\.case: no HTTP case"):
        bench_config.parse(path, '[main]\njson = { case = "json-9" }\n', spec())
    with pytest.raises(bench_config.BenchConfigError, match=r"json has no case named 'gone'"):
        bench_config.parse(path, '[main]\njson = { name = "gone" }\n', spec())
    with pytest.raises(bench_config.BenchConfigError, match="no scenario 'x'"):
        bench_config.parse(path, '[main]\nws-echo = { scenarios = ["x"] }\n', spec())


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    samples = [i / 1000 for i in range(1, 101)]  # 1 ms .. 100 ms
    assert percentiles(samples) == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}
    assert percentiles([0.002])["p99"] == 2.0


def test_pinning_splits_the_cpus_or_says_why_not() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    plan = Pinning.plan(workers=1)
    if len(cpus) >= 2:
        assert plan.server == (cpus[0],) and plan.load == tuple(cpus[1:])
        assert f"servers on CPU {cpus[0]}" in plan.note
    assert Pinning.plan(workers=len(cpus)).server == ()
    assert "not pinned" in Pinning.plan(workers=len(cpus)).note


def test_the_sampler_sees_a_busy_child_and_its_memory() -> None:
    # One CPU-second, however long a busy machine takes to give it: at most 0.2 of it is spent
    # before the sampler starts, and at most one interval's worth is missed at the end.
    code = "import time\nx = bytearray(64 * 2**20)\nwhile time.process_time() < 1: pass"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.2)
        with Sampler([os.getpid()]) as usage:  # the bench's own tree: the child is in it
            child.wait(timeout=120)
    finally:
        child.kill()
    assert usage.cpu_seconds > 0.5
    assert usage.peak_rss_bytes > 64 * 2**20


def test_a_missing_wrk_is_an_error_that_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(WrkNotFound, match=r"'/no/such/wrk' is not found.*apt-get install wrk"):
        Wrk("/no/such/wrk")
    # The bench says so before it starts anything, and writes nothing.
    done = bench("--behaviour", "json", "--wrk", "/no/such/wrk", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "apt-get install wrk" in done.stderr and "starting" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_a_delay_burst_opens_its_connections_then_sends_every_request() -> None:
    burst = Scenario(
        id="delay-20", behaviour="delay", kind="delay-burst", path="/delay",
        query={"seconds": "0.2"}, concurrency=20, ideal=0.2,
    )  # fmt: skip
    with Server(load_targets()["aiohttp"]) as server:
        result = run_scenario(burst, server.base_url, seconds=0, patience=10)
    assert result.errors == 0 and not result.notes, result  # no connection opened in the burst
    assert result.metrics["completed"] == result.metrics["requests"] == 20
    assert result.metrics["wall_s"] >= 0.2  # every request slept its 0.2 s


def test_ws_session_handshakes_reach_the_hello_with_a_session_and_not_without(
    tmp_path: Path,
) -> None:
    """bench.toml's ws-auth scenario on Django: each handshake carries the session of a user
    the scenario logged in, and gets the hello; without a session the probe is refused."""
    scenario = bench_config.load(spec()).scenarios["ws-me-10"]
    assert scenario.kind == "ws-session"
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}  # its users: not make run's
    with Server(load_targets()["django-uvicorn"], env=database) as server:
        result = run_scenario(scenario, server.base_url, seconds=0.5, patience=10)
        with pytest.raises(InvalidStatus, match="403"):
            asyncio.run(open_ws(server.base_url, scenario.path, patience=10))
    assert result.errors == 0 and result.metrics["handshakes_per_s"] > 0, result


def test_an_endpoint_a_target_lacks_is_reported_not_available(tmp_path: Path) -> None:
    """The bare aiohttp baseline as a target: it has /json but no /items."""
    config = bench_config.load(spec())
    bare = {"bare": config.baselines["aiohttp-hello"].target}
    options = Options(
        settings=bench_config.Settings(
            duration=0.3, warmup=0, rounds=1, connections=4, idle_limit=0, tries=1
        ),
        behaviours=("json", "items"),
        scenarios=(),
        targets=("bare",),
    )
    results = execute(config, spec(), bare, options, Wrk(), progress=lambda _: None)
    by_item = {m["item"]: m for m in results["measurements"]}
    assert by_item["json"]["status"] == "ok" and by_item["json"]["metrics"]["rps"] > 0
    assert by_item["items"]["status"] == "unavailable"
    assert "not available" in by_item["items"]["reason"] and "404" in by_item["items"]["reason"]
    with pytest.raises(AssertionError, match="404"):
        with Server(bare["bare"]) as server:
            prepare_http(spec(), config.main["fanout"], server.base_url, 5)


def test_running_deployments_are_measured_where_they_are_and_compared_with_the_first() -> None:
    """--deployment: a server the bench did not start, measured at its URL and left running,
    nothing pinned; its processes unseen (no CPU, no RSS), or read where --deployment-pids names
    them (and its CPU a request), never signalled; each deployment after the first against the
    first."""
    config = bench_config.load(spec())
    bare = config.baselines["aiohttp-hello"].target
    with Server(bare) as server:
        assert server.process is not None
        options = Options(
            settings=bench_config.Settings(
                duration=0.3, warmup=0, rounds=2, connections=4, idle_limit=0, tries=1
            ),
            behaviours=("json",),
            scenarios=(),
            deployments=(("aiohttp-one", server.base_url), ("aiohttp-two", f"{server.base_url}/")),
            deployment_pids={"aiohttp-two": (server.process.pid,)},
        )
        results = execute(config, spec(), load_targets(), options, Wrk(), lambda _: None)
        assert server.running
    assert {name: s["role"] for name, s in results["subjects"].items()} == {
        "aiohttp-one": "deployment", "aiohttp-two": "deployment",
    }  # fmt: skip
    assert results["subjects"]["aiohttp-two"]["of"] == "aiohttp-one"
    assert results["subjects"]["aiohttp-two"]["url"] == server.base_url
    assert results["settings"]["pinning"]["server_cpus"] == []
    assert len(results["measurements"]) == 4
    for m in results["measurements"]:
        assert m["status"] == "ok" and m["metrics"]["rps"] > 0, m
        if m["subject"] == "aiohttp-one":
            assert m["server"] == {"cpu_s": None, "cpu_pct": None, "peak_rss_mib": None}
            assert "cpu_ms_per_request" not in m["metrics"]
        else:
            assert m["server"]["cpu_s"] > 0 and m["server"]["peak_rss_mib"] > 10, m
            assert 0 < m["metrics"]["cpu_ms_per_request"] < 100, m
    table = bench_report.rows(results)
    [found] = bench_report.deployment_ratios(results, table)
    assert (found["item"], found["deployment"], found["first"]) == (
        "json",
        "aiohttp-two",
        "aiohttp-one",
    )
    assert "| `json` | `aiohttp-two` | `aiohttp-one` |" in bench_report.markdown(results)
    unnamed = dataclasses.replace(
        options, deployments=(("split", "http://127.0.0.1:9"),), deployment_pids={}
    )
    with pytest.raises(ValueError, match="begins with its app"):
        execute(config, spec(), load_targets(), unnamed, Wrk())
    stray = dataclasses.replace(options, deployment_pids={"aiohttp-three": (1,)})
    with pytest.raises(ValueError, match="processes of no deployment: aiohttp-three"):
        execute(config, spec(), load_targets(), stray, Wrk())


def check_svg(path: Path) -> None:
    assert path.stat().st_size > 1000, path
    assert ET.parse(path).getroot().tag == SVG, path


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    """A few-seconds run: one behaviour and one scenario, two targets and a baseline."""
    out = tmp_path_factory.mktemp("bench")
    done = bench(
        "--behaviour", "json", "--scenario", "ws-echo-1",
        "--target", "aiohttp", "--target", "django-uvicorn", "--target", "aiohttp-hello",
        "--duration", "0.5", "--warmup", "0.2", "--rounds", "2", "--connections", "8",
        "--tries", "1", "--idle-limit", "0", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout + done.stderr, json.loads((out / "results.json").read_text())


def test_the_smoke_run_writes_json_with_the_machine_and_every_setting(
    smoke: tuple[Path, str, dict[str, Any]],
) -> None:
    _, _, results = smoke
    assert results["machine"]["cores"] == os.cpu_count()
    assert results["machine"]["cpu_model"]
    assert results["versions"]["python"].startswith(f"{sys.version_info.major}.")
    assert results["versions"]["packages"]["aiohttp"] and results["versions"]["packages"]["Django"]
    settings = results["settings"]
    assert settings["rounds"] == 2 and settings["duration_s"] == 0.5 and settings["workers"] == 1
    assert settings["generator"]["name"] == "wrk"
    assert "pinned" in settings["pinning"]["about"] or settings["pinning"]["server_cpus"]
    assert set(results["subjects"]) == {"aiohttp", "django-uvicorn", "aiohttp-hello"}
    assert [item["id"] for item in results["items"]] == ["json", "ws-echo-1"]
    measured = results["measurements"]
    # json on 3 subjects, ws-echo-1 on the 2 targets (a baseline serves only its behaviours).
    assert len(measured) == 2 * (3 + 2)
    for m in measured:
        assert m["status"] == "ok", m
        assert m["errors"] == 0 or m["errors"] == dict.fromkeys(m["errors"], 0), m
        assert 0.3 < m["seconds"] < 30
        assert m["server"]["cpu_s"] > 0 and 10 < m["server"]["peak_rss_mib"] < 2000
        metrics = m["metrics"]
        if m["kind"] == "http":
            assert metrics["rps"] > 0  # how many depends on how busy the machine is
            assert 0 < metrics["p50_ms"] <= metrics["p90_ms"] <= metrics["p99_ms"]
        else:
            assert metrics["msgs_per_s"] > 0 and metrics["connections"] == 1
    # Each measurement says how quiet the machine was; the run sums it up.
    assert settings["quiet"]["tries"] == 1 and settings["quiet"]["max_others_pct"] == 3.0
    for m in measured:
        (attempt,) = m["quiet"]["tries"]
        assert attempt["others_pct"] >= 0 and 0 <= attempt["machine_busy_pct"] <= 100
        assert m["quiet"]["disturbed"] == (not attempt["idle"] or attempt["others_pct"] > 3.0)
    quietness = results["quietness"]
    assert quietness["measurements"] == len(measured) and quietness["retried"] == 0
    assert quietness["quiet"] == (not any(m["quiet"]["disturbed"] for m in measured))
    # The targets swap places each round.
    orders = [
        [m["subject"] for m in measured if m["round"] == r and m["item"] == "json"] for r in (1, 2)
    ]
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])


def test_the_smoke_run_prints_progress_and_a_table_and_writes_markdown_and_svg(
    smoke: tuple[Path, str, dict[str, Any]],
) -> None:
    out, printed, _ = smoke
    assert "[ 1/10] round 1/2" in printed
    table = [line for line in printed.splitlines() if line.startswith(("json ", "ws-echo-1 "))]
    assert len(table) == 2 and "×" in table[0]
    assert "aiohttp ÷ aiohttp-hello on json" in printed
    assert "\nQuiet: before each of the 10 measurements" in printed or "\nDisturbed: " in printed
    summary = (out / "summary.md").read_text()
    assert "| behaviour | request | aiohttp | django-uvicorn |" in summary  # the targets
    assert "| `json` | `aiohttp` | `aiohttp-hello` |" in summary  # the app against its baseline
    assert "`GET /json`" in summary and "## Settings" in summary
    for name in ("overview", "json", "ws-echo-1"):
        check_svg(out / "plots" / f"{name}.svg")
    assert "django-uvicorn" in (out / "plots" / "json.svg").read_text()


def test_ratios_are_taken_within_each_round(smoke: tuple[Path, str, dict[str, Any]]) -> None:
    _, _, results = smoke
    table = {row.id: row for row in bench_report.rows(results)}
    value = {
        (m["subject"], m["round"]): m["metrics"]["rps"]
        for m in results["measurements"]
        if m["item"] == "json"
    }
    django = table["json"].cells["django-uvicorn"]
    expected = sorted(value[("django-uvicorn", r)] / value[("aiohttp", r)] for r in (1, 2))
    assert sorted(django.ratios) == pytest.approx(expected)
    assert table["json"].cells["aiohttp"].ratios == [1.0, 1.0]
    baseline = bench_report.baseline_ratios(results, list(table.values()))
    assert [(b["item"], b["app"], b["baseline"]) for b in baseline] == [
        ("json", "aiohttp", "aiohttp-hello")
    ]


def test_wrk_reports_requests_percentiles_and_unexpected_statuses() -> None:
    wrk = Wrk()
    with Server(bench_config.load(spec()).baselines["aiohttp-hello"].target) as server:
        good = wrk.run(server.base_url, HttpLoad.of("GET", "/json"), 4, 1, 5)
        post = wrk.run(server.base_url, HttpLoad.of("POST", "/json", body=b"{}"), 2, 1, 5)
    assert good.requests > 0 and good.error_count == 0 and 0.9 < good.seconds < 5
    assert 0 < good.latency_ms["p50"] <= good.latency_ms["p99"]
    assert good.generator_cpu_seconds > 0
    assert post.errors["unexpected_status"] == post.requests > 0  # 405, not the 200 expected


def test_the_committed_summary_and_plots_match_the_committed_results(tmp_path: Path) -> None:
    results = bench_report.load(COMMITTED)
    directory = COMMITTED.parent
    assert (directory / "summary.md").read_text(encoding="utf-8") == bench_report.markdown(results)
    names = {p.name for p in plots.write(results, tmp_path)}
    assert names == {p.name for p in (directory / "plots").glob("*.svg")}


def test_the_bootstrap_interval_holds_the_median_and_widens_with_the_spread() -> None:
    tight = bench_report.bootstrap_ci([100, 101, 102, 103, 104])
    wide = bench_report.bootstrap_ci([60, 80, 102, 120, 140])
    assert tight is not None and wide is not None
    assert 100 <= tight[0] <= 102 <= tight[1] <= 104
    assert wide[1] - wide[0] > 3 * (tight[1] - tight[0])
    assert bench_report.bootstrap_ci([60, 80, 102, 120, 140]) == wide  # seeded: the same text
    assert bench_report.bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    assert bench_report.bootstrap_ci([7.0]) is None


def test_the_other_processes_share_is_the_cpus_busy_time_less_our_own() -> None:
    before, after = [10.0, 20.0], [11.0, 20.5]  # CPU 0 busy 1 s of 1 s, CPU 1 half of it
    assert others_pct(before, after, [0], own_cpu_seconds=0.97, seconds=1) == pytest.approx(3)
    assert others_pct(before, after, [0, 1], own_cpu_seconds=1.0, seconds=1) == pytest.approx(25)
    assert others_pct(before, after, [1], own_cpu_seconds=0.6, seconds=1) == 0  # never below 0
    assert others_pct(before, after, [], own_cpu_seconds=0, seconds=1) == 0


def measurement(subject: str, *others: float) -> dict[str, Any]:
    tries = [
        {"try": i, "idle": True, "idle_wait_s": 0.5, "machine_busy_pct": 1.0, "others_pct": o,
         "disturbed": o > 3, "primary": 1000.0}
        for i, o in enumerate(others, 1)
    ]  # fmt: skip
    quiet = {"disturbed": tries[-1]["disturbed"], "tries": tries}
    return {"item": "json", "subject": subject, "round": 1, "status": "ok", "quiet": quiet}


def test_a_disturbed_run_writes_no_numbers_into_the_docs(tmp_path: Path) -> None:
    quiet = quietness([measurement("aiohttp", 0.4), measurement("django-uvicorn", 9.0, 1.2)])
    assert quiet == {"quiet": True, "measurements": 2, "retried": 1, "disturbed": [],
                     "max_others_pct": 9.0}  # fmt: skip
    loud = quietness([measurement("aiohttp", 0.4), measurement("django-uvicorn", 9, 8, 7)])
    assert not loud["quiet"] and loud["disturbed"] == ["json on django-uvicorn, round 1"]
    results = {**bench_report.load(COMMITTED), "quietness": loud}
    reason = bench_report.disturbed(results)
    assert reason and "json on django-uvicorn, round 1" in reason
    assert bench_report.disturbed({**results, "quietness": quiet}) is None
    # The docs' block refuses it, and the bench writes it to var/bench instead of docs/bench.
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    with pytest.raises(bench_report.DisturbedRun, match="disturbed"):
        generated.bench_results(path)
    assert bench_cli.destination(results, COMMITTED.parent) == (bench_cli.OUT_DIR, ANY_REASON)
    assert bench_cli.destination(results, tmp_path) == (tmp_path, None)


class AnyReason(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and "disturbed" in other

    __hash__ = str.__hash__


ANY_REASON = AnyReason()


def test_a_disturbed_measurement_is_taken_again_and_every_try_is_kept() -> None:
    """A bound no machine meets (others' share under -1%): every try is disturbed."""
    config = bench_config.load(spec())
    bare = {"bare": config.baselines["aiohttp-hello"].target}
    settings = bench_config.Settings(
        duration=0.3, warmup=0, rounds=1, connections=4, idle_limit=0, max_others_pct=-1, tries=2
    )
    options = Options(settings=settings, behaviours=("json",), scenarios=(), targets=("bare",))
    results = execute(config, spec(), bare, options, Wrk(), progress=lambda _: None)
    (m,) = results["measurements"]
    assert m["status"] == "ok" and [t["try"] for t in m["quiet"]["tries"]] == [1, 2]
    assert all(t["disturbed"] and t["primary"] > 0 for t in m["quiet"]["tries"])
    assert m["metrics"]["rps"] == m["quiet"]["tries"][-1]["primary"]  # the last try is kept
    assert results["quietness"]["disturbed"] == ["json on bare, round 1"]
    assert bench_report.disturbed(results)


PEER_TOML = """
[main]
json = { name = "the message as JSON" }

[baseline.bare]
app = "aiohttp"
server = "bare aiohttp"
behaviours = ["json"]
command = ["{python}", "-m", "compare.bench.baselines.aiohttp_hello", "--host", "{host}",
           "--port", "{port}"]

[peer.other]
app = "aiohttp"
server = "a peer: the best bare baseline, run from a checkout's directory"
of = "bare"
behaviours = ["json"]
directory = "impl"
dockerfile = "impl.dockerfile"
command = ["{python}", "-m", "compare.bench.baselines.aiohttp_hello", "--host", "{host}",
           "--port", "{port}", "--best"]

[peer.needs-a-database]
app = "aiohttp"
server = "a peer that connects to a port nothing listens on"
of = "bare"
behaviours = ["json"]
directory = "impl"
dockerfile = "impl.dockerfile"
connects = ["127.0.0.1:9"]
command = ["{python}", "-c", "pass"]
"""


def test_peers_run_from_the_checkout_and_are_unavailable_with_a_reason_without_it(
    tmp_path: Path,
) -> None:
    config = bench_config.parse(tmp_path / "bench.toml", PEER_TOML, spec())
    settings = bench_config.Settings(duration=0.3, warmup=0, rounds=2, connections=4,
                                     idle_limit=0, tries=1)  # fmt: skip
    options = Options(settings=settings, behaviours=("json",), scenarios=())
    without = execute(config, spec(), {}, options, Wrk(), progress=lambda _: None)
    for name in ("other", "needs-a-database"):
        assert (
            "no TechEmpower checkout: give --peers DIR" in without["subjects"][name]["unavailable"]
        )
    table = bench_report.peer_table(without, bench_report.rows(without))
    assert "| `json` | `other` | no TechEmpower checkout" in table  # in the table, not left out
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "impl.dockerfile").write_text("CMD python -m impl\n")
    options = dataclasses.replace(options, peers=tmp_path)
    results = execute(config, spec(), {}, options, Wrk(), progress=lambda _: None)
    subjects = results["subjects"]
    assert subjects["other"]["role"] == "peer" and subjects["other"]["unavailable"] is None
    assert subjects["other"]["source"] == "impl/impl.dockerfile"
    assert "connects to 127.0.0.1:9 as it starts" in subjects["needs-a-database"]["unavailable"]
    assert {m["status"] for m in results["measurements"] if m["subject"] != "needs-a-database"} == {
        "ok"
    }
    (found,) = bench_report.peer_ratios(results, bench_report.rows(results))
    assert (found["item"], found["baseline"], found["peer"]) == ("json", "bare", "other")
    table = bench_report.peer_table(results, bench_report.rows(results))
    assert (
        f"| {found['ratio']:.2f} (" in table
        and "| `json` | `needs-a-database` | it connects" in table
    )
    alone = dataclasses.replace(options, targets=("other",))  # a peer without its baseline
    results = execute(config, spec(), {}, alone, Wrk(), progress=lambda _: None)
    table = bench_report.peer_table(results, bench_report.rows(results))
    assert "| `json` | `other` |" in table and "| `bare` not in this run |" in table


def step(rate: float, p99: float, errors: int = 0, achieved: float | None = None) -> Step:
    return Step(
        rate=rate, offered=100, answered=100 - errors, errors=errors,
        achieved_rps=rate if achieved is None else achieved, p50_ms=p99 / 4, p90_ms=p99 / 2,
        p99_ms=p99, max_ms=p99, send_lag_p99_ms=0.1, connections=4,
    )  # fmt: skip


def test_the_capacity_is_the_highest_rate_up_to_which_every_step_held() -> None:
    ladder = [step(250, 3), step(500, 8), step(1000, 49), step(2000, 400)]
    assert openloop.capacity(ladder, bound_ms=50) == 1000
    assert openloop.capacity(ladder, bound_ms=5) == 250
    assert openloop.capacity(ladder, bound_ms=1) == 0  # not even the lowest
    # A rate is not held with an error, nor when fewer answers came than were offered.
    assert openloop.capacity([step(250, 3), step(500, 8, errors=1)], 50) == 250
    assert openloop.capacity([step(250, 3), step(500, 8, achieved=400)], 50) == 250
    # A step that holds above one that did not does not count: the ladder is read upward.
    assert openloop.capacity([step(250, 3), step(500, 80), step(1000, 9)], 50) == 250
    metrics = openloop.ladder_metrics(ladder, 50)
    assert metrics["capacity_rps"] == 1000 and metrics["p99_ms@2000"] == 400
    assert openloop.curve({k: [v] for k, v in metrics.items()}, "p99_ms") == {
        250.0: [3],
        500.0: [8],
        1000.0: [49],
        2000.0: [400],
    }
    assert openloop.schedule(4, 1.0) == [0, 0.25, 0.5, 0.75]


def test_open_loop_latency_counts_from_the_intended_send_time() -> None:
    """The server stopped for 0.6 s in the middle: a closed loop would send nothing meanwhile and
    time only what it sent after; here every request of the stall is sent on schedule, and the
    first ones of it wait the whole stall."""
    target = bench_config.load(spec()).baselines["aiohttp-hello"].target
    load = HttpLoad.of("GET", "/json")

    async def stalled(server: Server) -> Step:
        assert server.process is not None
        pid = server.process.pid
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, os.killpg, pid, signal.SIGSTOP)
        loop.call_later(1.1, os.killpg, pid, signal.SIGCONT)
        return await openloop.fixed_rate(server.base_url, load, 50, 2.0, 10)

    with Server(target) as server:
        calm = openloop.run_step(server.base_url, load, 50, 1.0, 10)
        stall = asyncio.run(stalled(server))
    assert calm.offered == calm.answered == 50 and calm.errors == 0
    assert stall.offered == stall.answered == 100 and stall.errors == 0
    assert stall.max_ms >= 500  # the first request of the stall waited it out
    assert stall.p90_ms >= 100  # and so did a share of them, not one sample
    assert stall.connections > calm.connections  # sent on schedule, each on a free connection


def test_a_rate_ladder_measures_each_rate_and_plots_the_curve(tmp_path: Path) -> None:
    config = bench_config.load(spec())
    tiny = Scenario(
        id="json-rate", behaviour="json", kind="rate-ladder", path="/json", rates=(20, 40),
        bound_ms=5000,
    )  # fmt: skip
    config = dataclasses.replace(config, scenarios={**config.scenarios, tiny.id: tiny})
    bare = {"bare": config.baselines["aiohttp-hello"].target}
    settings = bench_config.Settings(
        duration=0.5, warmup=0, rounds=1, connections=4, idle_limit=0, tries=1
    )
    options = Options(settings, behaviours=("json",), scenarios=("json-rate",), targets=("bare",))
    results = execute(config, spec(), bare, options, Wrk(), progress=lambda _: None)
    ladder = next(m for m in results["measurements"] if m["item"] == "json-rate")
    assert ladder["status"] == "ok", ladder
    assert [s["rate"] for s in ladder["ladder"]] == [20, 40]
    assert all(s["offered"] == s["answered"] and s["errors"] == 0 for s in ladder["ladder"])
    assert ladder["metrics"]["capacity_rps"] == 40  # both held a 5 s bound
    assert ladder["metrics"]["p99_ms@40"] > 0
    assert "every rate held" in ladder["notes"][-1]
    item = next(i for i in results["items"] if i["id"] == "json-rate")
    assert item["primary"] == "capacity_rps" and item["rates"] == [20, 40]
    (svg,) = [p for p in plots.write(results, tmp_path) if p.name == "json-rate.svg"]
    check_svg(svg)
    assert "capacity 40/s" in svg.read_text() and "p99 bound" in svg.read_text()


def test_the_smoke_run_is_kept_in_the_history_with_its_commit_and_quietness(
    smoke: tuple[Path, str, dict[str, Any]],
) -> None:
    out, printed, results = smoke
    (path,) = (out / "history").glob("*.json")
    assert f"kept in {path}" in printed
    record = json.loads(path.read_text())
    assert record["commit"] == history.commit() and len(record["commit"]["sha"]) == 40
    assert record["started"] == results["started"] and record["versions"] == results["versions"]
    assert record["machine"] == results["machine"] and record["quietness"] == results["quietness"]
    assert record["settings"]["rounds"] == 2 and record["settings"]["generator"] == "wrk"
    rows = {row.id: row for row in bench_report.rows(results)}
    assert record["items"]["json"]["medians"]["aiohttp"] == pytest.approx(
        rows["json"].cells["aiohttp"].median, abs=0.001
    )


def test_the_committed_results_are_in_the_history() -> None:
    kept = {run["started"] for run in history.load_all()}
    for run in parts.runs(bench_report.load(COMMITTED)):  # each part's run, if taken in parts
        assert run["started"] in kept, (
            "make bench keeps each run in docs/bench/history/: commit it with results.json"
        )


def test_the_bench_page_shows_the_history_as_a_trend(tmp_path: Path) -> None:
    results = bench_report.load(COMMITTED)
    earlier = history.entry(results, "docs/bench/results.json", None)
    later = {
        **earlier, "started": "2026-12-01T10:00:00+00:00",
        "commit": {"sha": "a" * 40, "modified": False},
        "quietness": {"quiet": True, "measurements": 1, "retried": 0, "disturbed": [],
                      "max_others_pct": 1.0},
    }  # fmt: skip
    for run in (later, earlier):
        history.write(run, tmp_path / "history")
    runs = history.load_all(tmp_path / "history")
    assert [run["started"] for run in runs] == [earlier["started"], later["started"]]
    assert history.trend(runs, "json")["aiohttp"] == [
        (0, earlier["items"]["json"]["medians"]["aiohttp"]),
        (1, earlier["items"]["json"]["medians"]["aiohttp"]),
    ]
    bench = bench_site.Bench(tmp_path, results)
    copied = bench.copy_plots(tmp_path / "site")
    assert [p.name for p in copied] == ["trend-json.svg"]
    check_svg(copied[0])
    page = bench_site.overview_page(bench)
    assert "<h2>History</h2>" in page and "bench/trend-json.svg" in page
    assert "aaaaaaaaaa" in page and "quiet" in page and "no record" in page


def test_interference_measures_a_rate_alone_then_beside_held_requests() -> None:
    config = bench_config.load(spec())
    polls = Scenario(
        id="polls", behaviour="long-poll", kind="interference", path="/hello", rates=(20,),
        hold_path="/events/poll", hold_query={"after": "1000000000", "timeout": "30"}, holders=10,
    )  # fmt: skip
    assert polls.needs == {"overlap"}  # one sync worker would serve the polls, one at a time
    config = dataclasses.replace(config, scenarios={**config.scenarios, polls.id: polls})
    aiohttp_target = {"aiohttp": load_targets()["aiohttp"]}
    settings = bench_config.Settings(
        duration=0.5, warmup=0, rounds=1, connections=4, idle_limit=0, tries=1
    )
    options = Options(settings, ("long-poll",), scenarios=("polls",), targets=("aiohttp",))
    results = execute(config, spec(), aiohttp_target, options, Wrk(), progress=lambda _: None)
    m = next(m for m in results["measurements"] if m["item"] == "polls")
    assert m["status"] == "ok" and m["errors"] == 0 and not m["notes"], m
    assert m["metrics"]["held"] == m["metrics"]["holders"] == 10  # every poll still waiting
    assert m["metrics"]["p99_ms"] > 0 and m["metrics"]["p99_alone_ms"] > 0
    assert m["steps"]["alone"]["answered"] == m["steps"]["beside"]["answered"] == 10
    summary = bench_report.markdown(results)
    assert "p99 latency beside the held requests (ms)" in summary and "; alone " in summary
    # A request that ends at once is not held: the count says so.
    with Server(config.baselines["aiohttp-hello"].target) as server:
        load = HttpLoad.of("GET", "/json")
        quick = openloop.run_beside_held(server.base_url, load, 20, 0.5, 10, load, holders=5)
    assert quick.held == 0 and quick.beside.answered == 10
    # Slow uploads: a body announced, sent at 300 B/s, over the apps' floor: every one held.
    with Server(load_targets()["aiohttp"]) as server:
        upload = HttpLoad.of("POST", "/events")
        slow = openloop.run_beside_held(
            server.base_url, HttpLoad.of("GET", "/hello"), 20, 0.5, 10, upload, 5, trickle=300
        )
    assert slow.held == 5 and slow.beside.errors == 0


def test_ws_idle_counts_the_servers_memory_per_open_websocket_once_a_run(tmp_path: Path) -> None:
    """bench.toml's ws-idle scenarios at 50 connections, on a fresh server each: the RSS grown
    per connection, how many opened and stayed open; measured in the first round only."""
    config = bench_config.load(spec())
    assert config.scenarios["ws-idle-10000"].connections == 10_000
    idle = dataclasses.replace(config.scenarios["ws-idle-1000"], id="ws-idle-50", connections=50)
    assert idle.kind == "ws-idle" and idle.rounds == 1 and idle.needs == {"websocket"}
    config = dataclasses.replace(config, scenarios={idle.id: idle})
    targets = {name: load_targets()[name] for name in ("aiohttp", "django-uvicorn")}
    settings = bench_config.Settings(
        duration=0.3, warmup=0.1, rounds=2, connections=4, idle_limit=0, tries=1
    )
    options = Options(settings, ("ws-echo",), scenarios=(idle.id,), targets=tuple(targets))
    results = execute(config, spec(), targets, options, Wrk(), progress=lambda _: None)
    measured = results["measurements"]
    assert sorted(m["subject"] for m in measured) == ["aiohttp", "django-uvicorn"]  # one round
    for m in measured:
        assert m["status"] == "ok" and m["errors"] == 0 and not m["notes"], m
        metrics = m["metrics"]
        assert metrics["opened"] == metrics["open"] == metrics["open_at_reading"] == 50
        assert metrics["connections"] == 50
        assert metrics["rss_after_mib"] > metrics["rss_before_mib"] > 10
        assert metrics["kib_per_connection"] == pytest.approx(
            (metrics["rss_after_mib"] - metrics["rss_before_mib"]) * 1024 / 50, abs=0.1
        )
    (item,) = results["items"]
    assert item["primary"] == "kib_per_connection" and item["rounds"] == 1
    assert not item["higher_is_better"]
    summary = bench_report.markdown(results)
    assert "the server's RSS per idle websocket (KiB)" in summary and "; 50 of 50 open" in summary
    (svg,) = [p for p in plots.write(results, tmp_path) if p.name == "ws-idle-50.svg"]
    check_svg(svg)


def test_ws_idle_reports_the_connections_a_server_could_not_hold() -> None:
    """A server allowed 64 open files cannot hold 100 websockets: the count says how many
    opened, and the measurement ends with notes, not an exception."""
    idle = Scenario(id="ws-idle-100", behaviour="ws-echo", kind="ws-idle", path="/ws/echo",
                    connections=100)  # fmt: skip
    with Server(load_targets()["aiohttp"]) as server:
        assert server.process is not None
        psutil.Process(server.process.pid).rlimit(psutil.RLIMIT_NOFILE, (64, 64))
        result = run_scenario(idle, server.base_url, 0.2, 2, server=[server.process.pid])
    assert 0 < result.metrics["opened"] < 64 and result.metrics["open"] <= result.metrics["opened"]
    assert result.errors == 100 - result.metrics["open"]
    assert any("did not open" in note for note in result.notes), result.notes


def test_chat_is_measured_with_each_channel_layer_and_names_it() -> None:
    """chat-1000 and chat-1000-redis with 50 members: each server started with REDIS_URL or
    without it; a target whose processes share their rooms through Redis has no in-memory run."""
    config = bench_config.load(spec())
    memory, redis = config.scenarios["chat-1000"], config.scenarios["chat-1000-redis"]
    assert (memory.layer, redis.layer) == ("memory", "redis")
    small = {
        s.id: dataclasses.replace(s, members=50, messages=3) for s in (memory, redis)
    }  # fmt: skip
    config = dataclasses.replace(config, scenarios=small)
    names = ("aiohttp", "django-uvicorn", "aiohttp-gunicorn")
    targets = {name: load_targets()[name] for name in names}
    settings = bench_config.Settings(
        duration=0.3, warmup=0, rounds=1, connections=4, idle_limit=0, tries=1
    )
    options = Options(settings, ("chat",), scenarios=tuple(small), targets=names)
    results = execute(config, spec(), targets, options, Wrk(), progress=lambda _: None)
    found = {(m["item"], m["subject"]): m for m in results["measurements"]}
    gunicorn = found[("chat-1000", "aiohttp-gunicorn")]
    assert gunicorn["status"] == "unavailable" and "keeps its rooms in Redis" in gunicorn["reason"]
    for (item, _), m in found.items():
        if m is gunicorn:
            continue
        assert m["status"] == "ok", m
        assert m["layer"] == small[item].layer  # the layer the server was started with
        assert m["metrics"]["members"] == 50 and m["metrics"]["received_pct"] == 100, m
    layers = {item["id"]: item["layer"] for item in results["items"]}
    assert layers == {"chat-1000": "memory", "chat-1000-redis": "redis"}
    summary = bench_report.markdown(results)
    assert "send to last receipt (ms), memory layer" not in summary  # the unit comes last
    assert "median latency, send to last receipt, redis layer (ms)" in summary
    assert "50 members, 3 messages, redis layer" in summary


def test_the_scaling_pass_measures_json_again_with_two_workers() -> None:
    """After the run's own measurements, each server again with 2 processes on json: measured
    where bench.toml has a way to run them, not available where it has none; the pinning kept."""
    config = bench_config.load(spec())
    assert config.scaling.workers == 2 and config.scaling.behaviours == ("hello", "json")
    assert config.scaling.rounds == 3
    config = dataclasses.replace(config, scaling=dataclasses.replace(config.scaling, rounds=1))
    names = ("aiohttp", "django-uvicorn", "aiohttp-hello")
    settings = bench_config.Settings(
        duration=0.5, warmup=0, rounds=2, connections=8, idle_limit=0, tries=1
    )
    options = Options(settings, ("json",), targets=names)
    lines: list[str] = []
    results = execute(config, spec(), load_targets(), options, Wrk(), progress=lines.append)
    assert [item["id"] for item in results["items"]] == ["json", "json-2-workers"]
    scaling = results["settings"]["scaling"]
    assert scaling["workers"] == 2 and scaling["items"] == ["json-2-workers"]
    if len(os.sched_getaffinity(0)) <= 2:
        pinning = scaling["pinning"]
        assert pinning["server_cpus"] == [] and "not pinned" in pinning["about"]
    commands = {name: s["command"] for name, s in scaling["subjects"].items()}
    assert commands["django-uvicorn"][-2:] == ["--workers", "2"]
    assert "gunicorn" in commands["aiohttp-hello"] and "2" in commands["aiohttp-hello"]
    assert "not available with 2 workers" in scaling["subjects"]["aiohttp"]["unavailable"]
    assert results["subjects"]["aiohttp"]["unavailable"] is None  # the run's own pass had it
    assert results["items"][1]["rounds"] == 1  # json in both rounds, json-2-workers in one
    assert sum(m["item"] == "json" for m in results["measurements"]) == 2 * len(names)
    assert sum(m["item"] == "json-2-workers" for m in results["measurements"]) == len(names)
    found = {(m["item"], m["subject"]): m for m in results["measurements"] if m["round"] == 1}
    for name in names:
        assert found[("json", name)]["status"] == "ok" and "workers" not in found[("json", name)]
    assert found[("json-2-workers", "aiohttp")]["status"] == "unavailable"
    for name in ("django-uvicorn", "aiohttp-hello"):
        m = found[("json-2-workers", name)]
        assert m["status"] == "ok" and m["workers"] == 2 and m["metrics"]["rps"] > 0, m
    assert any("(2 workers)  json-2-workers" in line for line in lines)
    summary = bench_report.markdown(results)
    assert "Scaling: requests/s with 2 worker processes" in summary
    assert "| behaviour | subject | 1 worker(s), req/s | 2 workers, req/s | 2 ÷ 1 |" in summary
    assert "| `json` | aiohttp | " in summary and "n/a: not available with 2 workers" in summary
    assert "django-uvicorn on json: " in bench_report.terminal(results)
    assert "aiohttp on json: " in bench_report.terminal(results)
    page = bench_site.overview_page(bench_site.Bench(PROJECT_ROOT, results))
    assert "<h2>Scaling</h2>" in page


def test_calls_per_request_profiles_the_server_and_refuses_what_it_cannot() -> None:
    """python -m compare.bench.calls: the bare aiohttp baseline's GET /json (248 calls when it
    was written), and no measure of a server whose workers are processes of their own."""
    known = calls.servers()
    profiled = calls.profiled(known["aiohttp-hello"], Path("out"))
    assert profiled.command[:6] == ("{python}", "-m", "cProfile", "-o", "out", "-m")
    with pytest.raises(ValueError, match=r"not a `\{python\} -m` command"):
        calls.profiled(dataclasses.replace(profiled, command=("granian", "app")), Path("out"))
    assert 200 < calls.calls_per_request(known["aiohttp-hello"], "/json") < 300


def test_every_item_is_in_exactly_one_part_and_each_part_fits_a_quiet_hour() -> None:
    config = bench_config.load(spec())
    wrong = {item: named for item, named in bench_config.parted(config).items() if len(named) != 1}
    assert not wrong, f"compare/bench/bench.toml's [parts]: each item in exactly one: {wrong}"
    options = Options(settings=config.settings)
    total = 0.0
    for part in config.parts.values():
        found = plan.estimate(
            config, spec(), load_targets(), dataclasses.replace(options, part=part), peers=True
        )
        assert 0 < found.seconds < plan.BOUND_S, (part.name, plan.minutes(found.seconds))
        assert {line.item for line in found.lines} == {*part.behaviours, *part.scenarios}
        assert all(line.subjects for line in found.lines), part.name  # each loads a server
        total += found.seconds
    whole = plan.estimate(config, spec(), load_targets(), options, peers=True)
    assert whole.seconds > 3 * plan.BOUND_S  # what the parts are for
    assert abs(total - whole.seconds) < 0.05 * whole.seconds  # the same measurements


def test_a_part_names_what_it_measures_and_keeps_scaling_beside_its_main_case(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bench.toml"
    main = (
        '[main]\nhello = { name = "no name greets Anonymous" }\n'
        'json = { name = "the message as JSON" }\n'
    )
    scaling = '[scaling]\nworkers = 2\nbehaviours = ["json"]\n'
    with pytest.raises(bench_config.BenchConfigError, match=r"parts\.a\.behaviours: 'nope'"):
        bench_config.parse(path, main + '[parts.a]\nbehaviours = ["nope"]\n', spec())
    with pytest.raises(bench_config.BenchConfigError, match=r"parts\.a\.scenarios: no scenario"):
        bench_config.parse(path, main + '[parts.a]\nscenarios = ["gone"]\n', spec())
    split = '[parts.a]\nbehaviours = ["json"]\n[parts.b]\nscenarios = ["json-2-workers"]\n'
    with pytest.raises(bench_config.BenchConfigError, match=r"parts\.b\.scenarios: json-2-work"):
        bench_config.parse(path, main + scaling + split, spec())
    config = bench_config.parse(
        path, main + scaling + '[parts.a]\nbehaviours = ["json"]\nscenarios = ["json-2-workers"]\n',
        spec(),
    )  # fmt: skip
    assert bench_config.parted(config) == {"hello": [], "json": ["a"], "json-2-workers": ["a"]}


def test_the_plan_runs_nothing_and_says_each_parts_time() -> None:
    started = time.perf_counter()
    every = bench("--plan", timeout=60)
    assert every.returncode == 0, every.stderr
    config = bench_config.load(spec())
    for name in config.parts:
        assert f"  {name} " in every.stdout
    assert "The whole bench in one run (make bench): about " in every.stdout
    one = bench("--plan", "--part", "data", "--target", "aiohttp", "--rounds", "2", timeout=60)
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("part data (") and "5 measurements on 1 servers" in one.stdout
    assert "  counter " in one.stdout and "1 servers x 2 rounds" in one.stdout
    assert time.perf_counter() - started < 30  # no server started, nothing measured
    wrong = bench("--part", "data", "--behaviour", "json", "--out", "/nonexistent", timeout=60)
    assert wrong.returncode == 2 and "--part names what is measured" in wrong.stderr
    assert "no part 'nope'" in bench("--plan", "--part", "nope", timeout=60).stderr


TINY = ("--duration", "0.5", "--warmup", "0.2", "--rounds", "1", "--tries", "1",
        "--idle-limit", "0", "--target", "aiohttp", "--target", "aiohttp-hello")  # fmt: skip


@pytest.fixture(scope="module")
def in_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Two parts' tiny runs into one folder: headline (with a baseline), then data."""
    out = tmp_path_factory.mktemp("parts")
    for part in ("headline", "data"):
        done = bench("--part", part, *TINY, "--out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
    assert "merged, a run a part:\n- Part headline: the run of " in done.stdout
    return out, json.loads((out / "results.json").read_text())


def test_a_parts_run_is_merged_into_the_others_each_item_with_its_run(
    in_parts: tuple[Path, dict[str, Any]],
) -> None:
    out, merged = in_parts
    assert merged["schema"] == 3
    headline, data = parts.runs(merged)
    assert (headline["part"], data["part"]) == ("headline", "data")  # bench.toml's order
    assert headline["started"] < headline["finished"] <= data["started"] < data["finished"]
    for run in (headline, data):
        assert run["commit"] == history.commit() and run["machine"]["cores"] == os.cpu_count()
        assert run["settings"]["rounds"] == 1 and run["quietness"]["measurements"] > 0
        assert run["versions"]["packages"]["aiohttp"]
    assert [i["id"] for i in headline["items"]] == [
        "hello", "json", "hello-2-workers", "json-2-workers", "hello-rate"
    ]  # fmt: skip
    assert [i["id"] for i in data["items"]] == ["items", "sync-to-async", "counter", "files",
                                                "errors"]  # fmt: skip
    assert set(headline["subjects"]) == {"aiohttp", "aiohttp-hello"}
    assert set(data["subjects"]) == {"aiohttp"}  # the baseline serves none of data's items
    for m in merged["measurements"]:
        assert m["run"] == (headline if m["item"] in {"hello", "json"} | {
            "hello-2-workers", "json-2-workers", "hello-rate"} else data)["id"]  # fmt: skip
    # Each run kept in the history, its part named.
    names = sorted(p.name for p in (out / "history").glob("*.json"))
    assert [n.split("-")[-2] for n in names] == ["headline", "data"]


def test_ratios_of_merged_parts_are_taken_within_each_run(
    in_parts: tuple[Path, dict[str, Any]],
) -> None:
    merged = in_parts[1]
    headline, data = parts.runs(merged)
    value = {
        (m["item"], m["subject"]): m["metrics"]["rps"]
        for m in merged["measurements"]
        if m["status"] == "ok" and m["kind"] == "http"
    }
    table = {row.id: row for row in bench_report.rows(merged)}
    assert table["json"].cells["aiohttp-hello"].ratios == pytest.approx(
        [value[("json", "aiohttp-hello")] / value[("json", "aiohttp")]]
    )
    found = bench_report.baseline_ratios(merged, list(table.values()))
    per_run = bench_report.baseline_ratios(headline, bench_report.rows(headline))
    assert found == per_run and {f["item"] for f in found} == {"hello", "json"}
    assert bench_report.baseline_ratios(data, bench_report.rows(data)) == []
    # The scaling beside the main case: both from the headline run.
    assert "Scaling: requests/s with 2 worker processes" in bench_report.scaling_table(
        headline, bench_report.rows(headline)
    )
    assert bench_report.scaling_rows(data, bench_report.rows(data)) == []


def test_merged_parts_are_rendered_a_run_each_with_when_it_ran(
    in_parts: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, merged = in_parts
    headline, data = parts.runs(merged)
    summary = (out / "summary.md").read_text()
    assert summary == bench_report.markdown(merged)
    assert summary.startswith("# Bench results, in 2 runs\n")
    for run in (headline, data):
        assert (
            f"## Part `{run['part']}`: the run of {run['started']} to {run['finished']}" in summary
        )
    assert summary.index("## Part `headline`") < summary.index(
        "| `hello` | `aiohttp` | `aiohttp-hello` |"
    )
    assert summary.index("| `hello` | `aiohttp` | `aiohttp-hello` |") < summary.index(
        "## Part `data`"
    )
    assert "Reproduce: `make bench PART=data`." in summary
    block = bench_report.results_block(merged, "docs/bench/results.json")
    assert f"**Part `data`: the run of {data['started']}" in block and "Taken in parts" in block
    printed = bench_report.terminal(merged)
    assert printed.index("Part `headline`") < printed.index("\nitems ") and "Part `data`" in printed
    page = bench_site.overview_page(bench_site.Bench(out, merged))
    assert "<h2>Part headline: the run of" in page and "<h2>Part data: the run of" in page
    assert "<h3>Scaling</h3>" in page and "<td>headline</td>" in page  # the history's part
    assert (
        bench_site.Bench(out, merged).when == f"2 runs, a part each, the latest {data['started']}"
    )
    hello = bench_site.behaviour_section(bench_site.Bench(out, merged), "hello", None)
    assert f"hello-rate from Part headline: the run of {escape(headline['started'])}" in hello
    assert f"the run of {data['started']}" in (out / "plots" / "items.svg").read_text()
    check_svg(out / "plots" / "hello-rate.svg")
    # A disturbed part: the merged results may not go into docs/ either.
    quiet = {**headline["quietness"], "quiet": True, "disturbed": []}
    loud = {**data["quietness"], "quiet": False, "disturbed": ["items on aiohttp, round 1"]}
    reloaded = parts.combine([{**headline, "quietness": quiet}, {**data, "quietness": loud}])
    reason = bench_report.disturbed(reloaded)
    assert reason and reason.startswith("part data, ") and "items on aiohttp" in reason
    assert bench_report.disturbed(parts.combine([{**headline, "quietness": quiet}])) is None


def test_a_part_taken_again_replaces_its_run_and_keeps_the_others(
    in_parts: tuple[Path, dict[str, Any]],
) -> None:
    _, merged = in_parts
    headline, data = parts.runs(merged)
    again = {
        **data,
        "started": "2099-01-01T00:00:00+00:00",
        "finished": "2099-01-01T00:20:00+00:00",
    }
    order = list(bench_config.load(spec()).parts)
    after = parts.merge(merged, again, {"sha": "b" * 40, "modified": False}, order)
    assert [(r["part"], r["started"]) for r in after["runs"]] == [
        ("headline", headline["started"]), ("data", again["started"])
    ]  # fmt: skip
    kept = [m for m in after["measurements"] if m["run"] == headline["id"]]
    assert kept == [m for m in merged["measurements"] if m["run"] == headline["id"]]
    assert all(m["run"] == again["started"] for m in after["measurements"] if m["item"] == "items")
    assert parts.runs(after)[1]["commit"]["sha"] == "b" * 40
    # Into results of a whole run (schema 2): its other items stay, under its record.
    whole = bench_report.load(COMMITTED)
    into = parts.merge(whole, again, None, order)
    first, second = parts.runs(into)
    assert first["part"] is None and first["started"] == whole["started"]
    assert first["note"] == whole["note"] and first["machine"] == whole["machine"]
    assert {i["id"] for i in first["items"]} == {i["id"] for i in whole["items"]} - {
        i["id"] for i in again["items"]
    }  # fmt: skip
    assert "items" not in {m["item"] for m in first["measurements"]}
    assert second["started"] == again["started"]
    assert bench_report.markdown(into).startswith("# Bench results, in 2 runs")
    assert "- A run of no part: the run of 2026-11-22T12:09:54+00:00" in bench_report.markdown(into)
