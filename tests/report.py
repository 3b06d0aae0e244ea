"""Pytest plugin: after a run, merge each parity test's outcome into var/parity-report.json."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compare.report import (
    OUTCOMES,
    Outcome,
    Report,
    Result,
    Run,
    default_report_path,
    load,
    merge,
    save,
)
from shared.targets import load_targets

MESSAGE_LINES = 6


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Pending:
    """What a parity test is (known at collection) and what it did so far."""

    target: str
    behaviour: str
    case: int
    name: str
    reason: str
    outcome: Outcome | None = None
    message: str = ""
    duration: float = 0.0


class Recorder:
    """Registered as a plugin by pytest_configure; its hooks record and, at the end, write."""

    def __init__(self, path: Path, urls: dict[str, str]) -> None:
        self.path = path
        self.urls = urls
        self.started = now()
        self.tests: dict[str, Pending] = {}
        self.written: int = 0
        self.problem = ""

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("parity") is None or callspec is None:
            return
        target, case = callspec.params.get("target"), callspec.params.get("case")
        if not isinstance(target, str) or case is None:
            return
        # The id is `{target}-{behaviour}-{n}`; targets and behaviours may contain dashes.
        behaviour, _, number = callspec.id.removeprefix(f"{target}-").rpartition("-")
        xfail = item.get_closest_marker("xfail")
        self.tests[item.nodeid] = Pending(
            target=target,
            behaviour=behaviour,
            case=int(number),
            name=str(getattr(case, "name", case)),
            reason=str(xfail.kwargs.get("reason", "")) if xfail else "",
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        test.duration += report.duration
        xfailed = hasattr(report, "wasxfail")
        outcome: Outcome | None = None
        if report.skipped:
            outcome = "xfailed" if xfailed else "skipped"
        elif report.failed:
            strict_xpass = report.when == "call" and "[XPASS(strict)]" in str(report.longrepr)
            outcome = "xpassed" if strict_xpass else "failed"
            if not strict_xpass:
                lines = (report.longreprtext or "").strip().splitlines()
                test.message = "\n".join(lines[-MESSAGE_LINES:])
        elif report.when == "call":
            outcome = "xpassed" if xfailed else "passed"
        if outcome is not None and (test.outcome in (None, "passed") or outcome == "failed"):
            test.outcome = outcome

    def results(self) -> list[Result]:
        return [
            Result(
                target=test.target,
                behaviour=test.behaviour,
                case=test.case,
                name=test.name,
                outcome=test.outcome,
                reason=test.reason if test.outcome in ("xfailed", "xpassed") else "",
                message=test.message,
                duration=round(test.duration, 3),
                ran_at=self.started,
            )
            for test in self.tests.values()
            if test.outcome is not None
        ]

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        results = self.results()
        if not results:
            return
        ran = {result.target for result in results}
        order = [name for name in load_targets() if name in ran] + sorted(ran - set(load_targets()))
        counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in OUTCOMES}
        run = Run(
            started=self.started,
            finished=now(),
            targets={name: self.urls.get(name, "started") for name in order},
            counts=counts,
            exit_status=int(exitstatus),
        )
        try:
            old = load(self.path)
        except ValueError as error:
            self.problem = f"{error}; starting a new report"
            old = Report(path=self.path)
        save(merge(old, results, run), self.path)
        self.written = len(results)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.problem:
            terminalreporter.write_line(f"parity report: {self.problem}", yellow=True)
        if self.written:
            terminalreporter.write_line(
                f"parity report: {self.written} results merged into {self.path}"
            )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("targets").addoption(
        "--parity-report",
        metavar="PATH",
        default=None,
        help="merge this run's parity outcomes into PATH (default: $PARITY_REPORT or"
        " var/parity-report.json; '' writes none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    option = config.getoption("parity_report")
    if option == "":
        return
    urls: dict[str, str] = {}
    for item in config.getoption("target_url", default=[]):  # NAME=URL, checked by conftest.py
        name, _, url = item.partition("=")
        urls[name] = url
    path = Path(option) if option else default_report_path()
    config.pluginmanager.register(Recorder(path, urls), "parity-report")
