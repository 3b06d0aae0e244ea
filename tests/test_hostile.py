"""Hostile and slow clients (tests/hostile.py), all at once against a server of each target:
who is dropped when, and whether another client is served meanwhile."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.harness.http_rules import Rule
from shared.harness.targets import PROJECT_ROOT, load_targets
from tests.hostile import RULES, Run, failure, run
from tests.plugins.servers import ServerPool, selected_targets

pytestmark = pytest.mark.hostile

REPORT = PROJECT_ROOT / "var" / "hostile.json"


@pytest.fixture(scope="module")
def hostile_run(servers: ServerPool, target: str) -> Run:
    """The run on a server of the target's own, started for it (the shared one serves the other
    tests); what it counted goes to var/hostile.json."""
    server = servers.spawn(target, f"{target}-hostile")
    try:
        result = asyncio.run(run(target, server.base_url, load_targets()[target].holds))
    finally:
        server.stop()
    REPORT.parent.mkdir(exist_ok=True)
    found = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    found[target] = result.counted()
    REPORT.write_text(json.dumps(found, indent=2))
    return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_hostile[django-uvicorn-slow-header]`: the target (one run each), then the rule."""
    if "rule" not in metafunc.fixturenames:
        return
    metafunc.parametrize("target", selected_targets(metafunc.config), scope="module")
    metafunc.parametrize(
        "rule",
        [pytest.param(r, id=r.name, marks=pytest.mark.http_rule(r.name)) for r in RULES],
    )


def test_hostile(hostile_run: Run, rule: Rule) -> None:
    problem = failure(hostile_run, rule)
    assert problem is None, problem
