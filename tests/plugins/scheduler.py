"""Pytest plugin: under `--dist loadgroup`, pytest-xdist runs each target's tests in one process."""

from __future__ import annotations

import re

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling
from xdist.scheduler.protocol import Scheduling

from tests.plugins.servers import TARGETS

# Under pytest-xdist, modules whose tests run in one process: their session fixtures serve every
# target at once (one wstest run, the generated requests), or their load is too much for two cores
# with every target at once.
ONE_PROCESS_MODULES = (
    "tests/test_conformance.py",
    "tests/test_generated.py",
    "tests/test_hostile.py",  # hundreds of connections per target: one target at a time
)
# A target's name in a test id: the whole parameter id, or a dash-separated part of it.
_NAMES = "|".join(re.escape(name) for name in sorted(TARGETS, key=len, reverse=True))
_TARGET_IN_ID = re.compile(rf"\[(?:.*-)?({_NAMES})(?:-.*)?\]")


class TargetScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist: no type information
    """pytest-xdist's loadgroup, grouping by target: a target's tests run in one process, which
    starts its server once, and the targets run side by side. pytest 9.2's structured node ids
    drop the `@group` suffix that xdist_group marks rely on (pytest-xdist #1386), so the group is
    read from the test id, where the target's name always is."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(ONE_PROCESS_MODULES):
            return nodeid.partition("::")[0]
        if found := _TARGET_IN_ID.search(nodeid):
            return found[1]
        return str(super()._split_scope(nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    """`make test` runs `pytest -n auto --dist loadgroup`: its groups are the targets."""
    return TargetScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None
