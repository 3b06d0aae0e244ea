"""Pytest plugin: after a run, merge each parity test's outcome into var/parity-report.json."""

from __future__ import annotations

from collections.abc import Generator
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
from shared.harness.targets import load_targets

MESSAGE_LINES = 6
REPORT_PROPERTY = "parity-report"  # the user property that carries a test's Pending fields


def behaviour_of(item: pytest.Item) -> str | None:
    """The behaviour a test outside the spec's cases checks: @pytest.mark.behaviour("sse")."""
    marker = item.get_closest_marker("behaviour")
    return str(marker.args[0]) if marker else None


def test_id(item: pytest.Item, target: str) -> str:
    """`tests/test_x.py::test_y[4096-characters]`: the node id without the target's parameter."""
    params = item.callspec.id if isinstance(item, pytest.Function) else ""
    if params == target:
        params = ""
    elif params.startswith(f"{target}-"):
        params = params.removeprefix(f"{target}-")
    elif params.endswith(f"-{target}"):
        params = params.removesuffix(f"-{target}")
    return item.nodeid.partition("[")[0] + (f"[{params}]" if params else "")


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
    test: str = ""
    outcome: Outcome | None = None
    message: str = ""
    duration: float = 0.0


class Recorder:
    """Registered as a plugin by pytest_configure; its hooks record and, at the end, write."""

    def __init__(self, path: Path, urls: dict[str, str], writes: bool) -> None:
        self.path = path
        self.urls = urls
        self.writes = writes  # not in a pytest-xdist worker: its reports go to the controller
        self.started = now()
        self.collected: dict[str, dict[str, str | int]] = {}
        self.tests: dict[str, Pending] = {}
        self.written: int = 0
        self.problem = ""

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec else None
        if callspec is None or not isinstance(target, str):
            return
        xfail = item.get_closest_marker("xfail")
        reason = str(xfail.kwargs.get("reason", "")) if xfail else ""
        case = callspec.params.get("case")
        fields: dict[str, str | int] = {"target": target, "reason": reason}
        if item.get_closest_marker("parity") is not None and case is not None:
            # The id is `{target}-{behaviour}-{n}`; targets and behaviours may contain dashes.
            behaviour, _, number = callspec.id.removeprefix(f"{target}-").rpartition("-")
            name = str(getattr(case, "name", case))
            fields |= {"behaviour": behaviour, "case": int(number), "name": name}
        elif behaviour := behaviour_of(item):
            test = test_id(item, target)
            fields |= {"behaviour": behaviour, "case": 0, "name": test.partition("::")[2]}
            fields["test"] = test
        else:
            return
        self.collected[item.nodeid] = fields

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # What the test is travels with its report: under pytest-xdist the controller, which
        # writes the report file, collects nothing itself.
        report = yield
        if (fields := self.collected.get(item.nodeid)) is not None:
            report.user_properties.append((REPORT_PROPERTY, fields))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        fields = dict(report.user_properties).get(REPORT_PROPERTY)
        if not isinstance(fields, dict):
            return
        test = self.tests.setdefault(report.nodeid, Pending(**fields))
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
            outcome = "passed"  # a timing-dependent difference that passed (a strict one fails)
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
                test=test.test,
            )
            for test in self.tests.values()
            if test.outcome is not None
        ]

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        results = self.results()
        if not results or not self.writes:
            return
        ran = {result.target for result in results}
        order = [name for name in load_targets() if name in ran] + sorted(ran - set(load_targets()))
        counts: dict[str, int] = {o: sum(r.outcome == o for r in results) for o in OUTCOMES}
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
    config.addinivalue_line(
        "markers",
        "behaviour(id): the spec behaviour a test outside tests/test_parity.py checks on each"
        " target; the parity report records it under that behaviour",
    )
    option = config.getoption("parity_report")
    if option == "":
        return
    urls: dict[str, str] = {}
    for item in config.getoption(
        "target_url", default=[]
    ):  # NAME=URL, checked by plugins/servers.py
        name, _, url = item.partition("=")
        urls[name] = url
    path = Path(option) if option else default_report_path()
    writes = not hasattr(config, "workerinput")
    config.pluginmanager.register(Recorder(path, urls, writes), "parity-report")
