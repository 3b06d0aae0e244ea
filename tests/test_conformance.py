"""RFC 6455 conformance: Autobahn|Testsuite's fuzzing client against /ws/echo on every target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from shared.harness.expected import conformance_cases, expected
from shared.harness.tables import block, conformance_table, with_block
from shared.harness.targets import PROJECT_ROOT, load_targets
from tests.plugins.servers import ServerPool, parametrize_targets, selected_targets

pytestmark = pytest.mark.conformance

DOC = PROJECT_ROOT / "docs" / "conformance.md"
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
CLOSE_PASSING = {"OK", "INFORMATIONAL"}
WSTEST_TIMEOUT = 1200  # seconds for the whole run: about 20 s a target here
HOW_TO_GET_WSTEST = (
    "wstest (Autobahn|Testsuite) was not found: set WSTEST=/path/to/wstest or put it on PATH. "
    "On these machines ../shared/tools/install-wstest installs it without Docker; elsewhere, "
    "`docker compose --profile conformance run --rm wstest` runs it from Autobahn's image."
)
TABLE = "conformance-table"


CASES = conformance_cases()


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
        "cases": CASES,
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
    declared = expected().autobahn(target)
    expected_failures = {case for case, entry in declared.items() if entry.strict}
    unexpected = {c: why for c, why in failing.items() if c not in declared}
    fixed = sorted(case for case in expected_failures if case in results and case not in failing)
    missing = sorted(case for case in declared if case not in results)
    assert not unexpected, f"{target}: cases failing without a declaration: {unexpected}"
    assert not fixed, f"{target}: declared failures now pass, remove them: {fixed}"
    assert not missing, f"{target}: declared failures that did not run: {missing}"


def passes(autobahn: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, bool]]:
    """Whether each case passed, by target then case."""
    return {name: {c: passed(r) for c, r in cases.items()} for name, cases in autobahn.items()}


def test_the_doc_s_table_is_this_runs_table(
    autobahn: dict[str, dict[str, dict[str, Any]]], request: pytest.FixtureRequest
) -> None:
    """The doc's table is produced by the suite: CONFORMANCE_UPDATE_DOCS=1 rewrites it."""
    if set(autobahn) != set(load_targets()):
        pytest.skip("not run: the doc's table covers every target; this run did not")
    generated = conformance_table(expected(), passes(autobahn))
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("CONFORMANCE_UPDATE_DOCS"):
        DOC.write_text(with_block(text, TABLE, generated), encoding="utf-8")
        return
    assert block(text, TABLE) == generated, (
        "docs/conformance.md's table is not this run's: rerun with CONFORMANCE_UPDATE_DOCS=1"
        f"\n{generated}"
    )


def test_the_compose_profile_plays_the_same_cases() -> None:
    config = json.loads(
        (PROJECT_ROOT / "shared" / "harness" / "autobahn" / "fuzzingclient.json").read_text()
    )
    assert config["cases"] == CASES
