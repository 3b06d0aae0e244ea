"""Pytest plugin: the parity matrix's wall time, printed at the end of the run."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.plugins.servers import selected_targets

MATRIX_MODULE = "tests/test_parity.py::"  # the matrix: every spec case on every target


@dataclass
class MatrixClock:
    """Time of the parity matrix, from its cases' reports (under pytest-xdist they reach the
    controller): the set-up, call and teardown time of its cases in each process, where other
    tests may run between them; the busiest process's total is the matrix's wall time."""

    seconds: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.nodeid.startswith(MATRIX_MODULE):
            return
        node = getattr(report, "node", None)  # the pytest-xdist worker that ran it
        worker = str(node.gateway.id) if node is not None else "main"
        self.seconds[worker] = self.seconds.get(worker, 0.0) + report.duration
        self.count += report.when == "teardown"

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        if not self.count:
            return
        processes = len(self.seconds)
        side_by_side = f"; the busiest of {processes} processes" if processes > 1 else ""
        terminalreporter.write_line(
            f"parity matrix: {self.count} cases on {', '.join(selected_targets(config))}"
            f" in {max(self.seconds.values()):.1f} s wall time (servers' start-up included"
            f"{side_by_side})"
        )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(MatrixClock(), "matrix-clock")
