"""The decision guide (guide.html): for each need in compare/guide.toml, what each target does,
from the registry, the spec and the bench results, and the recommendation that follows."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import msgspec
from msgspec import Struct

from compare.bench import parts
from compare.bench import report as bench_report
from compare.bench.site import Bench
from shared.harness.expected import Difference, expected, lifecycle_checks
from shared.harness.targets import Target, load_targets
from shared.spec import Behaviour, spec
from shared.spec.model import Need as SpecNeed

GUIDE_FILE = Path(__file__).with_name("guide.toml")


class Need(Struct, frozen=True, forbid_unknown_fields=True):
    """A need a user brings, and where its answer is in the data."""

    id: str
    question: str
    needs: tuple[SpecNeed, ...] = ()  # what a target may lack
    behaviours: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()  # node ids, as the registry names them
    lifecycle: tuple[str, ...] = ()
    bench: tuple[str, ...] = ()  # bench items; the first ranks the targets
    only: tuple[str, ...] = ()  # the targets the user is limited to
    every_http_item: bool = False  # rank by the median ×aiohttp over every HTTP item
    memory: str | None = None  # a websocket bench item: peak RSS over `hello`'s, per member


class GuideFile(Struct, frozen=True, forbid_unknown_fields=True):
    need: tuple[Need, ...]


class GuideError(ValueError):
    """A need naming what the data does not have."""


def check(needs: Sequence[Need], where: Path) -> None:
    behaviours = {b.id for b in spec().behaviours}
    checks = lifecycle_checks()
    targets = load_targets()
    for need in needs:
        at = f"{where.name}: need {need.id!r}"
        if bad := [b for b in need.behaviours if b not in behaviours]:
            raise GuideError(f"{at}: behaviours: {bad[0]!r} is not in the spec")
        if bad := [c for c in need.lifecycle if c not in checks]:
            raise GuideError(f"{at}: lifecycle: {bad[0]!r} is none of {sorted(checks)}")
        if bad := [t for t in need.only if t not in targets]:
            raise GuideError(f"{at}: only: {bad[0]!r} is not a target")


@cache
def needs(path: Path = GUIDE_FILE) -> tuple[Need, ...]:
    try:
        found = msgspec.toml.decode(path.read_bytes(), type=GuideFile).need
    except msgspec.ValidationError as error:
        raise GuideError(f"{path.name}: {error}") from None
    check(found, path)
    return found


@dataclass(frozen=True)
class TargetAnswer:
    """What one target does for a need."""

    target: Target
    lacks: Mapping[SpecNeed, str]  # need -> why, of the need's needs
    declared: tuple[Difference, ...]  # about the need's cases, tests and checks
    cases: int  # of the need's behaviours
    cases_declared: int

    @property
    def can(self) -> bool:
        return not self.lacks


@dataclass(frozen=True)
class Measured:
    """One bench figure of one target: the median, its ratio to aiohttp, or why there is none."""

    value: float | None
    text: str  # as the bench's tables write it
    complete: bool  # a result that can be ranked (every chat member in, every message received)


@dataclass(frozen=True)
class Answer:
    need: Need
    targets: tuple[TargetAnswer, ...]
    columns: tuple[tuple[str, str], ...]  # (item id, what it measures)
    measured: Mapping[str, Mapping[str, Measured]]  # target -> item -> figure
    ranking: tuple[tuple[str, float], ...]  # (target, figure), best first, of those that can
    ranked_by: str  # what the ranking's figure is
    pick: str | None
    sentences: tuple[str, ...]


def declared_for(need: Need, target: str) -> tuple[Difference, ...]:
    return tuple(
        entry
        for entry in expected().differences
        if target in entry.targets
        and (
            entry.what.behaviour in need.behaviours
            or entry.what.test in need.tests
            or entry.what.lifecycle in need.lifecycle
        )
    )


def target_answer(need: Need, target: Target, behaviours: Sequence[Behaviour]) -> TargetAnswer:
    lacks = {n: why for n, why in expected().lacks(target.name).items() if n in need.needs}
    declared = declared_for(need, target.name)
    return TargetAnswer(
        target=target,
        lacks=lacks,
        declared=declared,
        cases=sum(len(b.cases) for b in behaviours),
        cases_declared=sum(entry.what.case is not None for entry in declared),
    )


NOT_IN_RUN = Measured(None, "n/a: not in this bench run", False)


def figure(row: bench_report.Row, cell: bench_report.Cell) -> Measured:
    """A target's median on an item, ×aiohttp in the same rounds, as the bench's tables write it;
    a chat's with how many members it reached."""
    if cell.status != "ok" or cell.median is None:
        return Measured(None, f"n/a: {cell.reason or cell.status}", False)
    text = bench_report.number(cell.median, row.primary)
    if cell.subject != bench_report.REFERENCE and cell.ratio is not None:
        text += f" ×{cell.ratio:.2f}"
    if row.kind != "chat":
        return Measured(cell.median, text, True)
    members = statistics.median(cell.extra["members"])
    received = statistics.median(cell.extra["received_pct"])
    most = max(statistics.median(c.extra["members"]) for c in row.cells.values() if c.values)
    text += f"; {members:,.0f} members, {received:.0f}% received"
    return Measured(cell.median, text, members == most and received == 100)


def per_member_kib(rows: Mapping[str, bench_report.Row], item: str, target: str) -> Measured:
    """Peak RSS during a websocket item, less the peak serving `hello`, per member connected."""
    if "hello" not in rows:
        return NOT_IN_RUN
    row, hello = rows[item], rows["hello"]
    cell, rest = row.cells.get(target), hello.cells.get(target)
    if cell is None or rest is None:
        return NOT_IN_RUN
    if not cell.values or not cell.rss_mib or not rest.rss_mib:
        return Measured(None, f"n/a: {cell.reason or cell.status}", False)
    members = statistics.median(cell.extra["members"])
    extra = statistics.median(cell.rss_mib) - statistics.median(rest.rss_mib)
    kib = extra * 1024 / members
    return Measured(kib, f"{kib:,.0f} KiB ({extra:,.1f} MiB over {members:,.0f} members)", True)


def workers(bench: Bench | None) -> str:
    """How many worker processes the bench gave each target (the registry's may say more)."""
    if bench is None:
        return ""
    count = bench.latest["settings"]["workers"]
    return f" (the bench runs each target with {count} worker process{'es' if count > 1 else ''})"


def names(items: Sequence[str]) -> str:
    quoted = [f"`{item}`" for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def answer(need: Need, bench: Bench | None) -> Answer:
    behaviours = [spec().behaviour(b) for b in need.behaviours]
    targets = [t for name, t in load_targets().items() if not need.only or name in need.only]
    answers = tuple(target_answer(need, t, behaviours) for t in targets)
    rows = {row.id: row for row in bench_report.rows(bench.results)} if bench else {}
    items = [item for item in need.bench if item in rows]
    columns = tuple((item, bench_report.heading(rows[item])) for item in items)
    measured: dict[str, dict[str, Measured]] = {a.target.name: {} for a in answers}
    for a in answers:
        for item in items:
            cell = rows[item].cells.get(a.target.name)
            measured[a.target.name][item] = figure(rows[item], cell) if cell else NOT_IN_RUN
    can = [a for a in answers if a.can]
    clean = [a.target.name for a in can if not a.declared]
    ranking: list[tuple[str, float]] = []
    ranked_by = ""
    if need.every_http_item and rows:
        http = [row for row in rows.values() if row.kind == "http"]
        ranked_by = (
            f"the median ×aiohttp over the {len(http)} behaviours measured by requests/s"
            f"{workers(bench)}"
        )
        for a in can:
            ratios = [r.cells[a.target.name].ratio for r in http if a.target.name in r.cells]
            if found := [r for r in ratios if r is not None]:
                ranking.append((a.target.name, statistics.median(found)))
        ranking.sort(key=lambda pair: -pair[1])
    elif need.memory and need.memory in rows:
        ranked_by = f"memory per websocket member, from `{need.memory}`{workers(bench)}"
        if bench and parts.merged(bench.results):  # taken in parts: two runs' peaks, maybe
            hello = parts.run_of(bench.results, "hello")
            if hello["id"] != parts.run_of(bench.results, need.memory)["id"]:
                ranked_by += f", less `hello`'s peak from another run, of {hello['started']}"
        columns += ((f"{need.memory}/member", "memory per member"),)
        for a in answers:
            value = per_member_kib(rows, need.memory, a.target.name)
            measured[a.target.name][f"{need.memory}/member"] = value
            if a.can and value.value is not None:
                ranking.append((a.target.name, value.value))
        ranking.sort(key=lambda pair: pair[1])
    elif items:
        first = rows[items[0]]
        ranked_by = f"`{first.id}`, {bench_report.heading(first)}{workers(bench)}"
        for a in can:
            value = measured[a.target.name][first.id]
            if value.complete and value.value is not None:
                ranking.append((a.target.name, value.value))
        ranking.sort(key=lambda pair: -pair[1] if first.higher_is_better else pair[1])
    said = (
        only_sentences(answers)
        if need.only
        else sentences(need, answers, clean, ranking, ranked_by)
    )
    return Answer(
        need=need,
        targets=answers,
        columns=columns,
        measured=measured,
        ranking=tuple(ranking),
        ranked_by=ranked_by,
        pick=need.only[0] if need.only else pick(clean, ranking) if covered(need) else None,
        sentences=said,
    )


def covered(need: Need) -> bool:
    """Whether anything in the data concerns the need."""
    sources = (need.needs, need.behaviours, need.tests, need.lifecycle, need.bench, need.memory)
    return any(sources) or bool(need.only)


def only_sentences(answers: Sequence[TargetAnswer]) -> tuple[str, ...]:
    """For a user limited to some targets: which behaviours each serves whole, from the spec's
    cases and what the target lacks and declares."""
    said: list[str] = []
    for a in answers:
        whole, partly = [], []
        for behaviour in spec().behaviours:
            lacking = [
                c for c in behaviour.cases if set(c.needs) & set(expected().lacks(a.target.name))
            ]
            declared = [
                e
                for e in expected().of("behaviour+case")
                if e.what.behaviour == behaviour.id and a.target.name in e.targets
            ]
            if lacking or declared:
                failing = len(lacking) + len(declared)
                partly.append(f"`{behaviour.id}` ({failing} of {len(behaviour.cases)} cases)")
            else:
                whole.append(behaviour.id)
        said.append(
            f"`{a.target.name}` serves every case of {len(whole)} of {len(whole) + len(partly)}"
            f" behaviours: {names(whole)}."
        )
        if partly:
            said.append(
                "It fails some cases, for what it lacks or a declared difference, of "
                + ", ".join(partly)
                + "."
            )
    return tuple(said)


def pick(clean: Sequence[str], ranking: Sequence[tuple[str, float]]) -> str | None:
    """The best ranked of those with no declared difference; else the best ranked; else the
    first with no declared difference."""
    ranked = [name for name, _ in ranking]
    return (
        next((n for n in ranked if n in clean), None)
        or next(iter(ranked), None)
        or next(iter(clean), None)
    )


def sentences(
    need: Need,
    answers: Sequence[TargetAnswer],
    clean: Sequence[str],
    ranking: Sequence[tuple[str, float]],
    ranked_by: str,
) -> tuple[str, ...]:
    if not covered(need):
        return (
            "Nothing in the spec, the registry or the bench concerns this: no behaviour has it,"
            " so this guide has no data, and no recommendation, on it.",
        )
    said: list[str] = []
    cannot = [a for a in answers if not a.can]
    if cannot:
        lacked = sorted({n for a in cannot for n in a.lacks})
        said.append(
            f"{len(answers) - len(cannot)} of {len(answers)} targets can; "
            + ", ".join(f"`{a.target.name}`" for a in cannot)
            + f" cannot: it lacks {names(lacked)} (why, below)."
        )
    else:
        said.append(f"All {len(answers)} targets can.")
    if need.behaviours or need.tests or need.lifecycle:
        if clean:
            said.append(
                f"With no difference declared in these cases, tests and checks: {names(clean)}."
            )
        else:
            said.append("Every target that can has a difference declared here (below).")
    if ranking:
        order = ", then ".join(f"`{name}`" for name, _ in ranking)
        unranked = [a.target.name for a in answers if a.can and a.target.name not in dict(ranking)]
        none = f"; no complete result for {names(unranked)}" if unranked else ""
        said.append(f"Ranked by {ranked_by}: {order}{none}.")
    return tuple(said)


def recommendation(a: Answer) -> str:
    """The target the facts point to, and which facts."""
    if a.pick is None:
        return "No recommendation: the data has nothing to choose by."
    chosen = next(t for t in a.targets if t.target.name == a.pick)
    named = f"`{a.pick}`, {chosen.target.server}"
    if a.need.only:
        return f"{named}: the one choice; what it cannot do is above."
    why = []
    if len([t for t in a.targets if t.can]) > 1:
        why.append("it can")
    if a.need.behaviours or a.need.tests or a.need.lifecycle:
        why.append(
            "with no difference declared here"
            if not chosen.declared
            else "though with differences declared here (below)"
        )
    ranked = [name for name, _ in a.ranking]
    if ranked and ranked[0] == a.pick:
        why.append("and it ranks first")
    elif a.pick in ranked:
        place = f"{ranked.index(a.pick) + 1} of {len(ranked)}"
        why.append(f"and it ranks first of those with no declared difference ({place})")
    return f"{named}: {', '.join(why)}." if why else f"{named}."
