"""RFC 6455 conformance: Autobahn|Testsuite's fuzzing client against /ws/echo on every target."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.harness.targets import PROJECT_ROOT, load_targets
from tests.conftest import ServerPool, parametrize_targets, selected_targets

pytestmark = pytest.mark.conformance

HARNESS = PROJECT_ROOT / "shared" / "harness"
CONFORMANCE_PATH = HARNESS / "conformance.toml"
README = PROJECT_ROOT / "README.md"
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
CLOSE_PASSING = {"OK", "INFORMATIONAL"}
WSTEST_TIMEOUT = 1200  # seconds for the whole run: about 20 s a target here
HOW_TO_GET_WSTEST = (
    "wstest (Autobahn|Testsuite) was not found: set WSTEST=/path/to/wstest or put it on PATH. "
    "On these machines ../shared/tools/install-wstest installs it without Docker; elsewhere, "
    "`docker compose --profile conformance run --rm wstest` runs it from Autobahn's image."
)
TABLE_BEGIN, TABLE_END = "<!-- conformance-table:begin -->", "<!-- conformance-table:end -->"


@dataclass(frozen=True)
class Conformance:
    cases: list[str]
    expected_failures: dict[str, dict[str, str]]
    timing_dependent: dict[str, dict[str, str]]  # either outcome passes


def load_conformance(path: Path = CONFORMANCE_PATH) -> Conformance:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    declared = {kind: data.get(kind, {}) for kind in ("expected-failures", "timing-dependent")}
    for kind, by_target in declared.items():
        unknown = set(by_target) - set(load_targets())
        assert not unknown, f"{path}: {kind} for unknown targets {sorted(unknown)}"
        for target, cases in by_target.items():
            for case, reason in cases.items():
                assert re.search(r"\.py:\d+", reason), (
                    f"{path}: {target} {case}: the reason must name the server's file and line"
                )
    return Conformance(
        cases=list(data["cases"]),
        expected_failures=declared["expected-failures"],
        timing_dependent=declared["timing-dependent"],
    )


CONFORMANCE = load_conformance()


def find_wstest() -> str | None:
    return os.environ.get("WSTEST") or shutil.which("wstest")


def passed(result: dict[str, Any]) -> bool:
    return result["behavior"] in PASSING and result["behaviorClose"] in CLOSE_PASSING


@pytest.fixture(scope="session")
def autobahn(
    servers: ServerPool, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, dict[str, Any]]]:
    """One wstest run against every selected target; its index.json, by agent then case."""
    wstest = find_wstest()
    if wstest is None:
        if os.environ.get("WSTEST_REQUIRED"):
            pytest.fail(f"WSTEST_REQUIRED is set, but {HOW_TO_GET_WSTEST}")
        pytest.skip(f"not run: {HOW_TO_GET_WSTEST}")
    workdir = tmp_path_factory.mktemp("autobahn")
    lives = [servers.get(name) for name in selected_targets(request.config)]
    config = {
        "outdir": str(workdir / "report"),
        "servers": [
            # Browsers send Origin; the apps refuse a websocket handshake from a foreign one.
            {"agent": live.name, "url": f"{live.ws_url}/ws/echo", "origin": live.base_url}
            for live in lives
        ],
        "cases": CONFORMANCE.cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    (workdir / "fuzzingclient.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    done = subprocess.run(
        [wstest, "-m", "fuzzingclient", "-s", "fuzzingclient.json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=WSTEST_TIMEOUT,
        check=False,
    )
    index = workdir / "report" / "index.json"
    assert done.returncode == 0 and index.exists(), (
        f"wstest exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    report: dict[str, dict[str, dict[str, Any]]] = json.loads(index.read_text(encoding="utf-8"))
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


@pytest.mark.needs("websocket")
def test_autobahn(autobahn: dict[str, dict[str, dict[str, Any]]], target: str) -> None:
    results = autobahn[target]
    failing = {
        case: f"{r['behavior']}, close {r['behaviorClose']}"
        for case, r in results.items()
        if not passed(r)
    }
    expected = CONFORMANCE.expected_failures.get(target, {})
    either = CONFORMANCE.timing_dependent.get(target, {})
    unexpected = {c: why for c, why in failing.items() if c not in expected and c not in either}
    fixed = sorted(case for case in expected if case in results and case not in failing)
    missing = sorted(case for case in {**expected, **either} if case not in results)
    assert not unexpected, f"{target}: cases failing without a declaration: {unexpected}"
    assert not fixed, f"{target}: declared failures now pass, remove them: {fixed}"
    assert not missing, f"{target}: declared failures that did not run: {missing}"


def table(autobahn: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The README's conformance table, from this run's results."""
    targets = load_targets()
    rows = [
        "| target | server | cases | passed (OK, NON-STRICT, INFORMATIONAL) | expected failures"
        " | either, by timing |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in sorted(autobahn, key=list(targets).index):
        either = CONFORMANCE.timing_dependent.get(name, {})
        results = {c: r for c, r in autobahn[name].items() if c not in either}
        counts = Counter(passed(r) for r in results.values())
        failing = sorted((c for c, r in results.items() if not passed(r)), key=case_key)
        expected = ", ".join(f"`{c}`" for c in failing) or "none"
        if targets[name].lacking(["websocket"]):
            # What passes there is what Autobahn counts as passed without a websocket at all.
            expected = f"the other {len(failing)}: it lacks websocket"
        timing = ", ".join(f"`{c}`" for c in sorted(either, key=case_key)) or "none"
        rows.append(
            f"| `{name}` | {targets[name].server} | {len(autobahn[name])} | {counts[True]}"
            f" | {expected} | {timing} |"
        )
    return "\n".join(rows)


def case_key(case: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case.split("."))


def test_readme_table_is_this_runs_table(
    autobahn: dict[str, dict[str, dict[str, Any]]], request: pytest.FixtureRequest
) -> None:
    """The README's table is produced by the suite: CONFORMANCE_UPDATE_README=1 rewrites it."""
    if set(autobahn) != set(load_targets()):
        pytest.skip("not run: the README's table covers every target; this run did not")
    generated = table(autobahn)
    text = README.read_text(encoding="utf-8")
    before, found, rest = text.partition(TABLE_BEGIN)
    current, found_end, after = rest.partition(TABLE_END)
    assert found and found_end, f"README.md has no {TABLE_BEGIN} ... {TABLE_END} block"
    if os.environ.get("CONFORMANCE_UPDATE_README"):
        README.write_text(
            f"{before}{TABLE_BEGIN}\n{generated}\n{TABLE_END}{after}", encoding="utf-8"
        )
        return
    assert current.strip() == generated, (
        "README.md's conformance table is not this run's: rerun with CONFORMANCE_UPDATE_README=1"
        f"\n{generated}"
    )


def test_the_compose_profile_plays_the_same_cases() -> None:
    config = json.loads(
        (PROJECT_ROOT / "shared" / "harness" / "autobahn" / "fuzzingclient.json").read_text()
    )
    assert config["cases"] == CONFORMANCE.cases
