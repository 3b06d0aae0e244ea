"""The parity report (var/parity-report.json): its format, how a run merges in, and statuses."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from shared.harness.targets import PROJECT_ROOT
from shared.spec import Behaviour, Spec

REPORT_PATH = PROJECT_ROOT / "var" / "parity-report.json"
FORMAT_VERSION = 1
KEPT_RUNS = 20

type Outcome = Literal["passed", "failed", "xfailed", "xpassed", "skipped"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "xfailed", "xpassed", "skipped")


def default_report_path() -> Path:
    """$PARITY_REPORT, else var/parity-report.json in the project."""
    return Path(os.environ["PARITY_REPORT"]) if os.environ.get("PARITY_REPORT") else REPORT_PATH


@dataclass(frozen=True)
class Result:
    """The outcome of one parity test on one target: a case of a behaviour, or another test of it
    (case 0, `test` its node id without the target, e.g. `tests/test_parity_concurrency.py::
    test_sse_resumes_after_last_event_id`)."""

    target: str
    behaviour: str
    case: int  # 1-based, as in the test id `aiohttp-hello-2`; 0 for another test
    name: str  # the case's (or test's) name when it ran: a renamed or moved case no longer matches
    outcome: Outcome
    reason: str = ""  # the xfail reason, for xfailed and xpassed
    message: str = ""  # the last lines of a failure, ending with the assertion
    duration: float = 0.0
    ran_at: str = ""  # when its run started (UTC, ISO 8601)
    test: str = ""

    @property
    def key(self) -> tuple[str, str, int, str]:
        return self.target, self.behaviour, self.case, self.test

    @property
    def what(self) -> str:
        """`ws-echo-3 (its name)` for a case, the test's name for another test."""
        if self.test:
            return self.name
        return f"{self.behaviour}-{self.case} ({self.name})"


@dataclass(frozen=True)
class Run:
    """One pytest session that ran parity tests."""

    started: str
    finished: str
    targets: Mapping[str, str]  # target -> "started" (by the suite) or the URL it was reached at
    counts: Mapping[str, int]
    exit_status: int


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...] = ()
    runs: tuple[Run, ...] = ()
    path: Path | None = None

    @property
    def last_run(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def result(self, target: str, behaviour: Behaviour, index: int) -> Result | None:
        """The latest result of a spec case (0-based index) on a target, if it still matches."""
        found = self._by_key.get((target, behaviour.id, index + 1, ""))
        return found if found and found.name == behaviour.cases[index].name else None

    def tests(self, target: str, behaviour: Behaviour) -> tuple[Result, ...]:
        """The latest results of the behaviour's tests outside the spec's cases on a target."""
        return self._tests.get((target, behaviour.id), ())

    @cached_property
    def _by_key(self) -> dict[tuple[str, str, int, str], Result]:
        return {result.key: result for result in self.results}

    @cached_property
    def _tests(self) -> dict[tuple[str, str], tuple[Result, ...]]:
        found: dict[tuple[str, str], list[Result]] = {}
        for result in sorted(self.results, key=lambda result: result.test):
            if result.test:
                found.setdefault((result.target, result.behaviour), []).append(result)
        return {key: tuple(results) for key, results in found.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "runs": [asdict(run) for run in self.runs],
            "results": [asdict(result) for result in self.results],
        }


def load(path: Path | None = None) -> Report:
    """The report at `path`; an empty one when there is none yet."""
    path = path or default_report_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Report(path=path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a parity report: {error}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a version {FORMAT_VERSION} parity report")
    try:
        runs = tuple(Run(**run) for run in data["runs"])
        results = tuple(Result(**result) for result in data["results"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: malformed parity report: {error}") from None
    return Report(results=results, runs=runs, path=path)


def merge(old: Report, new: Iterable[Result], run: Run) -> Report:
    """The old report with this run's results in place of the same (target, behaviour, case)."""
    merged = {result.key: result for result in old.results}
    merged.update((result.key, result) for result in new)
    order = list(run.targets) + sorted({key[0] for key in merged} - set(run.targets))
    results = sorted(
        merged.values(), key=lambda r: (order.index(r.target), r.behaviour, r.case, r.test)
    )
    return Report(results=tuple(results), runs=(*old.runs, run)[-KEPT_RUNS:], path=old.path)


def save(report: Report, path: Path) -> None:
    """Write the report atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=".parity-report-", delete=False
    ) as out:
        json.dump(report.to_json(), out, indent=1, ensure_ascii=False)
        out.write("\n")
    # Readable by all, as a file open() makes: the compose site service reads it as another user
    # (NamedTemporaryFile makes it 0600).
    Path(out.name).chmod(0o644)
    Path(out.name).replace(path)


type CellKind = Literal["pass", "fail", "xfail", "partial", "skipped", "not-run"]


@dataclass(frozen=True)
class Cell:
    """The status of one behaviour on one target, summed over its cases and its other tests."""

    kind: CellKind
    counts: Mapping[str, int]  # outcome (or "not run") -> number of cases
    total: int
    notes: tuple[Result, ...] = field(default=())  # results to explain: xfail reasons, failures
    test_counts: Mapping[str, int] = field(default_factory=dict)  # outcome -> other tests
    tests: int = 0  # how many other tests of the behaviour have a result on this target

    @property
    def label(self) -> str:
        """`pass 6/6`, `pass 5 + xfail 2`, `FAIL 1/7`, `not run`; other tests after a `+`:
        `pass 6/6 + 3/3 tests`, `pass 6/6 + tests FAIL 1/3`."""
        label = count_label(self.counts, self.total)
        if not self.tests:
            return label
        if self.test_counts.get("passed", 0) == self.tests:
            return f"{label} + {self.tests}/{self.tests} tests"
        return f"{label} + tests {count_label(self.test_counts, self.tests)}"


def count_kind(counts: Mapping[str, int], total: int) -> CellKind:
    """Worst first: any failure or strict xpass is FAIL; missing results never count as passes."""
    if counts.get("failed") or counts.get("xpassed"):
        return "fail"
    if counts.get("not run", 0) == total:
        return "not-run"
    if counts.get("not run"):
        return "partial"
    if counts.get("skipped"):
        return "skipped"
    if counts.get("xfailed"):
        return "xfail"
    return "pass"


def count_label(counts: Mapping[str, int], total: int) -> str:
    kind = count_kind(counts, total)
    if kind == "not-run":
        return "not run"
    passed = counts.get("passed", 0)
    if kind == "fail":
        return f"FAIL {counts.get('failed', 0) + counts.get('xpassed', 0)}/{total}"
    parts = [f"pass {passed}"] if passed else []
    for outcome, word in (("xfailed", "xfail"), ("skipped", "skip"), ("not run", "not run")):
        if counts.get(outcome):
            parts.append(f"{word} {counts[outcome]}")
    if parts == [f"pass {passed}"]:
        return f"pass {passed}/{total}"
    return " + ".join(parts)


def cell(report: Report, behaviour: Behaviour, target: str) -> Cell:
    """The cases' and other tests' outcomes; the kind is the worst of both."""
    results = [report.result(target, behaviour, i) for i in range(len(behaviour.cases))]
    tests = report.tests(target, behaviour)
    counts: Counter[str] = Counter(result.outcome if result else "not run" for result in results)
    test_counts: Counter[str] = Counter(result.outcome for result in tests)
    notes = tuple(
        result
        for result in (*results, *tests)
        if result and result.outcome in ("failed", "xfailed", "xpassed")
    )
    return Cell(
        kind=count_kind(counts + test_counts, len(results) + len(tests)),
        counts=dict(counts),
        total=len(results),
        notes=notes,
        test_counts=dict(test_counts),
        tests=len(tests),
    )


def matrix(report: Report, spec: Spec, targets: Sequence[str]) -> dict[str, dict[str, Cell]]:
    """behaviour id -> target -> Cell, in spec and registry order."""
    return {b.id: {t: cell(report, b, t) for t in targets} for b in spec.behaviours}


def outcome_word(result: Result | None) -> str:
    """What one case did, in a word for tables: passed, FAILED, xfail, XPASS, skipped, not run."""
    if result is None:
        return "not run"
    words = {"failed": "FAILED", "xfailed": "xfail", "xpassed": "XPASS"}
    return words.get(result.outcome, result.outcome)


def result_kind(result: Result | None) -> CellKind:
    """The CSS class / colour of one case's outcome."""
    if result is None:
        return "not-run"
    kinds: dict[str, CellKind] = {"passed": "pass", "xfailed": "xfail", "skipped": "skipped"}
    return kinds.get(result.outcome, "fail")


def when(stamp: str) -> str:
    """`2025-01-02T10:00:00Z` as `2025-01-02 10:00 UTC`."""
    return stamp.replace("T", " ")[:16] + " UTC"


def describe_run(report: Report, targets: Sequence[str]) -> str:
    """When each target's results were taken, and how it was reached; targets with none say so.

    `results: aiohttp 2025-01-02 10:00 UTC; django-daphne 2025-01-02 10:05 UTC at http://...`
    """
    if not report.results:
        where = report.path or default_report_path()
        return (
            f"no parity results yet ({where}): run `make test` or `python -m compare matrix --run`"
        )
    parts = []
    for target in targets:
        stamps = [result.ran_at for result in report.results if result.target == target]
        if not stamps:
            parts.append(f"{target} not run")
            continue
        latest = max(stamps)
        run = next((run for run in report.runs if run.started == latest), None)
        how = run.targets.get(target, "started") if run else "started"
        parts.append(f"{target} {when(latest)}" + ("" if how == "started" else f" at {how}"))
    return "results: " + "; ".join(parts)
