"""What a bench run would measure and how long it would take, from the settings: nothing runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from compare.bench.config import BenchConfig
from compare.bench.runner import Item, Options, Subject, select_items, select_subjects
from shared.harness.expected import expected as known_differences
from shared.harness.tables import markdown_table
from shared.harness.targets import Target
from shared.spec import Spec

# Seconds beside the warm-up and the measurement itself, from runs on this machine: the wait for
# an idle machine (half a second at least), the server's settling and the load generator's start,
# a measurement; a server's start (a restart for ws-idle, after a chat, for the scaling pass); the
# checks of each main case against the spec, an item on a subject.
MEASUREMENT_S = 1.5
START_S = 4.0
CHECK_S = 0.3
BOUND_S = 3600.0  # a part fits a quiet hour (tests/test_bench.py)


@dataclass(frozen=True)
class Line:
    """An item: on how many subjects, in how many rounds, and the seconds it takes in all."""

    item: str
    request: str
    subjects: tuple[str, ...]
    rounds: int
    seconds: float


@dataclass(frozen=True)
class Plan:
    lines: tuple[Line, ...]
    subjects: tuple[str, ...]  # started
    unavailable: Mapping[str, str]  # not started, and why (a peer without its checkout)
    seconds: float

    def text(self, title: str) -> str:
        width = max([len(line.item) for line in self.lines] + [4])
        rows = [
            f"  {line.item:<{width}}  {len(line.subjects):>2} servers x {line.rounds} rounds"
            f"  {minutes(line.seconds):>7}  {line.request}"
            for line in self.lines
        ]
        skipped = [f"  not started, not counted: {line}" for line in self.skipped()]
        return "\n".join([
            f"{title}: {len(self.lines)} measurements on {len(self.subjects)} servers,"
            f" about {minutes(self.seconds)}", *rows, *skipped,
        ]) + "\n"  # fmt: skip

    def skipped(self) -> list[str]:
        """The servers not started, a line a reason."""
        by_reason: dict[str, list[str]] = {}
        for name, why in self.unavailable.items():
            by_reason.setdefault(why, []).append(name)
        return [f"{', '.join(names)}: {why}" for why, names in by_reason.items()]


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def measurement_s(item: Item, options: Options) -> float:
    """One measurement of `item` on one server: its warm-up and duration as its kind spends
    them, the scenario's own overhead (bench.toml's overhead_s) and the bench's."""
    warmup, duration = options.settings.warmup, options.settings.duration
    scenario = item.scenario
    extra = scenario.overhead_s if scenario else 0.0
    match item.kind:
        case "rate-ladder":  # every rate held: the longest ladder, the server settled before each
            assert scenario is not None
            seconds = warmup + len(scenario.rates) * (duration + 0.25)
        case "interference":  # alone, then beside the held requests
            seconds = warmup + 2 * duration
        case "delay-burst" | "chat":  # a burst or a broadcast, whatever the duration
            seconds = 0.0
        case "ws-idle":  # on a fresh server, idle for the duration
            seconds = duration + START_S
        case _:
            seconds = warmup + duration
    if item.kind == "chat":  # the next measurement gets a fresh server
        seconds += START_S
    return seconds + extra + MEASUREMENT_S


def serves(config: BenchConfig, item: Item, subject: Subject) -> bool:
    """The subject is loaded with the item: it serves it, lacks nothing it needs, and runs the
    scaling pass's workers if the item is the pass's."""
    lacks = known_differences().lacks(subject.target.name)
    if item.workers not in (None, 1) and subject.role != "deployment":
        if subject.name not in config.workers:  # no way to run them (Subject.run_with)
            return False
    return subject.serves(item) and not any(need in item.needs for need in lacks)


def estimate(
    config: BenchConfig,
    spec: Spec,
    targets: Mapping[str, Target],
    options: Options,
    peers: bool = False,
) -> Plan:
    """The run `options` describe, estimated; `peers`: as if TechEmpower's checkout were there."""
    items = select_items(config, spec, options)
    subjects = select_subjects(config, targets, options)
    if options.part is not None:
        subjects = [s for s in subjects if any(s.serves(i) for i in items)]
    unavailable = {
        s.name: s.unavailable
        for s in subjects
        if s.unavailable and not (peers and s.role == "peer" and s.absent)
    }
    started = [s for s in subjects if s.name not in unavailable]
    rounds = options.settings.rounds
    lines = []
    for item in items:
        loaded = tuple(s.name for s in started if serves(config, item, s))
        count = min(item.rounds or rounds, rounds)
        each = measurement_s(item, options)
        lines.append(Line(item.id, item.describe(), loaded, count, each * count * len(loaded)))
    seconds = START_S * (len(started) + 1) + sum(line.seconds for line in lines)
    seconds += CHECK_S * sum(len(line.subjects) for line in lines)
    if any(item.workers is not None for item in items):  # every server again, then checked
        seconds += START_S * len(started)
    return Plan(tuple(lines), tuple(s.name for s in started), unavailable, seconds)


def summary(plans: Sequence[tuple[str, Plan]]) -> str:
    """A line a part, and the sum."""
    width = max(len(name) for name, _ in plans)
    lines = [
        f"  {name:<{width}}  {minutes(plan.seconds):>7}  {len(plan.lines):>2} measurements"
        for name, plan in plans
    ]
    total = sum(plan.seconds for _, plan in plans)
    return "\n".join([*lines, f"  {'in all':<{width}}  {minutes(total):>7}"]) + "\n"


def parts_table(config: BenchConfig, spec: Spec, targets: Mapping[str, Target]) -> str:
    """docs/measurements.md: each part, what it measures and its estimated time, the peers'
    servers counted; and the whole bench in one run."""
    options = Options(settings=config.settings)
    rows, total = [], 0.0
    for part in config.parts.values():
        found = estimate(config, spec, targets, replace(options, part=part), peers=True)
        total += found.seconds
        items = ", ".join(f"`{line.item}`" for line in found.lines)
        rows.append([f"`{part.name}`", part.about, items, minutes(found.seconds)])
    whole = estimate(config, spec, targets, options, peers=True)
    rows.append(["(all of them)", "`make bench`, one run", "", minutes(whole.seconds)])
    return markdown_table(["part", "what", "measurements", "about"], rows)
