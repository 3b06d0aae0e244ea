"""From a results JSON: medians, intervals, ratios; the terminal table, Markdown, the docs block."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compare.bench import parts
from shared.harness.tables import markdown_table

REFERENCE = "aiohttp"  # ratios are against this target, computed within each round
BLOCK_BEGIN, BLOCK_END = "<!-- bench:begin -->", "<!-- bench:end -->"
CONFIDENCE = 0.95  # of the bootstrap intervals of the medians
RESAMPLES = 10_000


def bootstrap_ci(
    values: Sequence[float], confidence: float = CONFIDENCE, resamples: int = RESAMPLES
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the median of `values` (None under two values):
    the rounds resampled with replacement `resamples` times, the middle `confidence` of their
    medians. Seeded, so that the same results always render the same interval."""
    if len(values) < 2:
        return None
    data = np.asarray(values, dtype=float)
    draws = np.random.default_rng(0).choice(data, size=(resamples, len(data)), replace=True)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.median(draws, axis=1), [tail, 100 - tail])
    return float(low), float(high)


class DisturbedRun(ValueError):
    """A run whose quietness record says a measurement was disturbed: no numbers for docs/."""


def disturbed(results: Mapping[str, Any]) -> str | None:
    """Why the run's numbers may not go into docs/: a disturbed measurement kept; None if quiet
    (or if the run predates the quietness record, schema 1: its note says what it knew). Of
    results taken in parts, every run's."""
    if parts.merged(results):
        reasons = [
            f"part {run.get('part') or '(none)'}, {reason}"
            for run in parts.runs(results)
            if (reason := disturbed(run))
        ]
        return "; ".join(reasons) or None
    record = results.get("quietness")
    if record is None or record["quiet"]:
        return None
    if not record["measurements"]:
        return "no measurement has a quietness record"
    listed = "; ".join(record["disturbed"][:5])
    more = len(record["disturbed"]) - 5
    return (
        f"{len(record['disturbed'])} of {record['measurements']} measurements were disturbed"
        f" after every try: {listed}" + (f" and {more} more" if more > 0 else "")
    )


def require_quiet(results: Mapping[str, Any]) -> None:
    if reason := disturbed(results):
        raise DisturbedRun(f"a disturbed run writes no numbers into docs/: {reason}")


def quiet_sentence(results: Mapping[str, Any]) -> str:
    record = results.get("quietness")
    if record is None:
        return "This run predates the quietness record: nothing checked that the machine was quiet."
    quiet = results["settings"]["quiet"]
    if not record["quiet"]:
        return f"Disturbed: {disturbed(results)}."
    if record["max_others_pct"] is None:  # deployments only: their processes are not the bench's
        return (
            f"Quiet: before each of the {record['measurements']} measurements the machine was"
            f" idle (under {quiet['idle_pct']:g}% busy); {record['retried']} measurement(s) were"
            " taken again."
        )
    return (
        f"Quiet: before each of the {record['measurements']} measurements the machine was idle"
        f" (under {quiet['idle_pct']:g}% busy), and other processes took at most"
        f" {record['max_others_pct']:g}% of the server's CPUs during it (the bound:"
        f" {quiet['max_others_pct']:g}%); {record['retried']} measurement(s) were taken again."
    )


@dataclass
class Cell:
    """One subject on one item, over the rounds."""

    subject: str
    status: str = "ok"  # ok, unavailable, failed
    reason: str = ""
    values: list[float] = field(default_factory=list)  # the primary metric, one per round
    ratios: list[float] = field(default_factory=list)  # against REFERENCE, within each round
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_pct: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    generator_pct: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # rounds without a result, and why

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% bootstrap interval of the median over the rounds."""
        return bootstrap_ci(self.values)


@dataclass
class Row:
    """An item (a behaviour's main case or a scenario) on every subject."""

    id: str
    behaviour: str
    kind: str
    request: str
    primary: str
    higher_is_better: bool
    ideal: float | None
    cells: dict[str, Cell]
    bound_ms: float | None = None  # rate-ladder: the p99 bound of its capacity
    layer: str | None = None  # chat: the channel layer its servers were started with


def error_count(errors: object) -> int:
    if isinstance(errors, Mapping):
        return sum(int(v) for v in errors.values())
    return int(errors) if isinstance(errors, int | float | str) else 0


def rows(results: Mapping[str, Any]) -> list[Row]:
    """Every item with its cells, in the order the run measured them."""
    subjects = list(results["subjects"])
    by_round: dict[tuple[str, int], dict[str, float]] = {}
    table: list[Row] = []
    for item in results["items"]:
        cells = {name: Cell(name) for name in subjects}
        table.append(Row(
            item["id"], item["behaviour"], item["kind"], item["request"], item["primary"],
            item["higher_is_better"], item.get("ideal"), cells, item.get("bound_ms"),
            item.get("layer"),
        ))  # fmt: skip
    index = {row.id: row for row in table}
    for m in results["measurements"]:
        row = index.get(m["item"])
        if row is None:
            continue
        cell = row.cells[m["subject"]]
        if m["status"] != "ok":
            cell.status, cell.reason = m["status"], m.get("reason") or ""
            if m["status"] == "failed":
                cell.failures.append(f"{m['subject']}, round {m['round']}: {cell.reason}")
            continue
        metrics = m["metrics"]
        value = metrics[row.primary]
        cell.notes += [n for n in m.get("notes", []) if n not in cell.notes]
        if math.isnan(value):  # e.g. no chat message reached every member: no latency to show
            cell.status = "no result"
            cell.reason = f"no result on {m['subject']}: " + "; ".join(m.get("notes", []))
            cell.failures.append(f"{m['subject']}, round {m['round']}: {cell.reason}")
            continue
        cell.values.append(value)
        by_round.setdefault((row.id, m["round"]), {})[m["subject"]] = value
        cell.p50_ms.append(metrics.get("p50_ms", float("nan")))
        cell.p99_ms.append(metrics.get("p99_ms", float("nan")))
        cell.errors += error_count(m["errors"])
        if m["server"]["cpu_pct"] is not None:
            cell.cpu_pct.append(m["server"]["cpu_pct"])
        if m["server"]["peak_rss_mib"] is not None:
            cell.rss_mib.append(m["server"]["peak_rss_mib"])
        if m.get("generator_cpu_pct") is not None:
            cell.generator_pct.append(m["generator_cpu_pct"])
        for key, number in metrics.items():
            cell.extra.setdefault(key, []).append(number)
    for (item_id, _), values in by_round.items():
        reference = values.get(REFERENCE)
        if not reference:
            continue
        for subject, value in values.items():
            index[item_id].cells[subject].ratios.append(value / reference)
    for row in table:
        for cell in row.cells.values():
            if cell.values and cell.status != "ok":
                cell.status, cell.reason = "ok", ""  # some rounds had a result: show it
            if not cell.values and cell.status == "ok":
                cell.status = "not measured"
    return table


def baseline_ratios(results: Mapping[str, Any], table: Sequence[Row]) -> list[dict[str, Any]]:
    """Each app against its framework's bare minimum: app's value / baseline's, in each round."""
    return paired_ratios(results, table, "baseline", ("app", "baseline"))


def peer_ratios(results: Mapping[str, Any], table: Sequence[Row]) -> list[dict[str, Any]]:
    """Each baseline against its peer (TechEmpower's): baseline's value / peer's, in each round."""
    return paired_ratios(results, table, "peer", ("baseline", "peer"))


def deployment_ratios(results: Mapping[str, Any], table: Sequence[Row]) -> list[dict[str, Any]]:
    """Each running deployment after the first against the first (--deployment): its own value
    / the first's, in each round."""
    found = paired_ratios(results, table, "deployment", ("first", "deployment"))
    return [
        {**f, "ratio": 1 / f["ratio"], "low": 1 / f["high"], "high": 1 / f["low"]} for f in found
    ]


def paired_ratios(
    results: Mapping[str, Any], table: Sequence[Row], role: str, keys: tuple[str, str]
) -> list[dict[str, Any]]:
    """Each subject of `role` against the one it names (`of`): that one's value / its own, in
    each round where both have one; the median and its 95% bootstrap interval, the two names
    under `keys` (the one named, the subject)."""
    found: list[dict[str, Any]] = []
    rounds: dict[tuple[str, str, int], float] = {}
    for m in results["measurements"]:
        if m["status"] == "ok":
            row = next(r for r in table if r.id == m["item"])
            rounds[(m["item"], m["subject"], m["round"])] = m["metrics"][row.primary]
    for name, subject in results["subjects"].items():
        if subject["role"] != role or not subject["of"]:
            continue
        for row in table:
            per_round = [
                rounds[(row.id, subject["of"], r)] / rounds[(row.id, name, r)]
                for (item, who, r) in rounds
                if item == row.id and who == name and (row.id, subject["of"], r) in rounds
            ]
            if per_round:
                median = statistics.median(per_round)
                low, high = bootstrap_ci(per_round) or (median, median)
                found.append({
                    "item": row.id, keys[0]: subject["of"], keys[1]: name,
                    "ratio": median, "low": low, "high": high,
                })  # fmt: skip
    return found


def number(value: float | None, primary: str) -> str:
    if value is None:
        return "—"
    if primary in ("rps", "msgs_per_s", "capacity_rps"):
        return f"{value:,.0f}"
    if primary.endswith("_s"):
        return f"{value:.2f}"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def spread(cell: Cell, primary: str) -> str:
    """The 95% bootstrap interval of the median, as text; empty under two rounds."""
    if (interval := cell.interval) is None:
        return ""
    return f"{number(interval[0], primary)}–{number(interval[1], primary)}"


def cell_text(row: Row, cell: Cell, notes: list[str], with_spread: bool = True) -> str:
    if cell.status == "not measured":  # a baseline, on a behaviour it does not serve
        return "—"
    if cell.status != "ok":
        reason = cell.reason or cell.status
        if reason not in notes:
            notes.append(reason)
        return f"n/a [{notes.index(reason) + 1}]"
    text = number(cell.median, row.primary)
    if with_spread and (s := spread(cell, row.primary)):
        text += f" ({s})"
    if cell.subject != REFERENCE and cell.ratio is not None:
        text += f" ×{cell.ratio:.2f}"
    for failure in cell.failures:  # a round without a result: the median is of the others
        if failure not in notes:
            notes.append(failure)
        text += f" [{notes.index(failure) + 1}]"
    if row.kind == "chat":  # a latency means little without how many it reached
        members = statistics.median(cell.extra["members"])
        received = statistics.median(cell.extra["received_pct"])
        text += f"; {members:.0f} members, {received:.0f}% received"
        return text
    if row.kind == "ws-idle":  # the memory of the connections that were open
        held = statistics.median(cell.extra["open"])
        wanted = statistics.median(cell.extra["connections"])
        return text + f"; {held:,.0f} of {wanted:,.0f} open"
    if row.kind == "interference":  # against the same rate with nothing held
        text += f"; alone {statistics.median(cell.extra['p99_alone_ms']):,.1f}"
    if cell.errors:
        text += f"; {cell.errors:,} errors"
    return text


def heading(row: Row) -> str:
    units = {
        "wall_s": "s", "p50_ms": "ms", "p99_ms": "ms", "capacity_rps": "requests/s",
        "kib_per_connection": "KiB",
    }  # fmt: skip
    unit = units.get(row.primary)
    what = {
        "capacity_rps": f"the highest rate whose p99 stays under {row.bound_ms or 0:g} ms",
        "rps": "requests/s",
        "msgs_per_s": "messages/s",
        "wall_s": "wall time",
        "p50_ms": "median latency",
        "p99_ms": "p99 latency",
        "kib_per_connection": "the server's RSS per idle websocket",
    }[row.primary]
    if row.kind == "chat":
        what = "median latency, send to last receipt"
        what += f", {row.layer} layer" if row.layer else ""
    if row.kind == "interference":
        what = "p99 latency beside the held requests"
    ideal = ""
    if row.ideal is not None:
        ideal = (
            f", ideal {row.ideal:g} s"
            if row.primary == "wall_s"
            else f", ideal {row.ideal * 1000:g} ms"
        )
    return f"{what} ({unit}{ideal})" if unit else what


def subjects_of(results: Mapping[str, Any], role: str) -> list[str]:
    return [n for n, s in results["subjects"].items() if s["role"] == role]


def main_tables(results: Mapping[str, Any], table: Sequence[Row], notes: list[str]) -> str:
    targets = [*subjects_of(results, "target"), *subjects_of(results, "deployment")]
    http = [r for r in table if r.kind == "http"]
    other = [r for r in table if r.kind != "http"]
    parts = []
    if http:
        body = [
            [f"`{r.id}`", f"`{r.request}`", *(cell_text(r, r.cells[t], notes) for t in targets)]
            for r in http
        ]
        parts.append(
            "Requests/s of each behaviour's main case: median of the rounds (95% bootstrap"
            " interval of the median), and × the aiohttp target in the same round.\n\n"
            + markdown_table(["behaviour", "request", *targets], body)
        )
    if other:
        body = [
            [
                f"`{r.id}`",
                r.request,
                heading(r),
                *(cell_text(r, r.cells[t], notes) for t in targets),
            ]
            for r in other
        ]
        parts.append(
            "Concurrency scenarios: median of the rounds (95% bootstrap interval), ×aiohttp in the"
            " same round.\n\n" + markdown_table(["scenario", "what", "measured", *targets], body)
        )
    return "\n\n".join(parts)


def baseline_table(results: Mapping[str, Any], table: Sequence[Row]) -> str:
    found = baseline_ratios(results, table)
    if not found:
        return ""
    body = [
        [f"`{f['item']}`", f"`{f['app']}`", f"`{f['baseline']}`",
         f"{f['ratio']:.2f} ({f['low']:.2f}–{f['high']:.2f})",
         "yes" if f["ratio"] >= 0.9 else "no"]
        for f in found
    ]  # fmt: skip
    return (
        "Each app against its framework's bare minimum (`compare/bench/baselines/`), requests/s"
        " of the app ÷ the baseline's in the same round; the goal is within 10% (≥ 0.90).\n\n"
        + markdown_table(["behaviour", "app", "baseline", "app ÷ baseline", "within 10%"], body)
    )


def scaling_rows(results: Mapping[str, Any], table: Sequence[Row]) -> list[list[str]]:
    """Each subject's requests/s with the run's workers (the main case) and with the scaling
    pass's, and their ratio (of the medians: the passes' rounds are not paired)."""
    scaling = results["settings"].get("scaling")
    if not scaling:
        return []
    index = {row.id: row for row in table}
    body = []
    for item_id in scaling["items"]:
        row = index[item_id]
        one = index.get(row.behaviour)
        for name, cell in row.cells.items():
            if cell.status == "not measured":
                continue
            base = one.cells[name].median if one and name in one.cells else None
            many = cell.median if cell.status == "ok" else None
            why = "" if many is not None else f"n/a: {cell.reason or cell.status}"
            body.append([
                f"`{row.behaviour}`", name, number(base, "rps"), why or number(many, "rps"),
                f"×{many / base:.2f}" if many and base else "—",
            ])  # fmt: skip
    return body


def scaling_heading(results: Mapping[str, Any]) -> list[str]:
    one, many = results["settings"]["workers"], results["settings"]["scaling"]["workers"]
    return ["behaviour", "subject", f"{one} worker(s), req/s", f"{many} workers, req/s",
            f"{many} ÷ {one}"]  # fmt: skip


def scaling_sentence(results: Mapping[str, Any]) -> str:
    settings = results["settings"]
    scaling = settings["scaling"]
    return (
        f"Scaling: requests/s with {scaling['workers']} worker processes (a pass of its own,"
        f" after the rest of the run) beside {settings['workers']} (the main cases above), medians"
        f" of the rounds. With {settings['workers']}: {settings['pinning']['about']}. With"
        f" {scaling['workers']}: {scaling['pinning']['about']}; the load generator takes its"
        " share of the same CPUs."
    )


def scaling_table(results: Mapping[str, Any], table: Sequence[Row]) -> str:
    if not (body := scaling_rows(results, table)):
        return ""
    return scaling_sentence(results) + "\n\n" + markdown_table(scaling_heading(results), body)


def peer_table(results: Mapping[str, Any], table: Sequence[Row]) -> str:
    """Each peer beside the baseline it is the bar for; an unavailable peer with its reason."""
    peers = subjects_of(results, "peer")
    if not peers:
        return ""
    ratios = {(f["item"], f["peer"]): f for f in peer_ratios(results, table)}
    body = []
    for row in table:
        for name in peers:
            cell, of = row.cells[name], results["subjects"][name]["of"]
            if cell.status == "not measured":
                continue
            peer = figure(row, name)
            baseline = f"`{of}` " + figure(row, of) if of else "—"
            ratio, bar = "—", "—"
            if found := ratios.get((row.id, name)):
                ratio = f"{found['ratio']:.2f} ({found['low']:.2f}–{found['high']:.2f})"
                bar = "yes" if found["ratio"] >= 1 else "no"
            body.append([f"`{row.id}`", f"`{name}`", peer, baseline, ratio, bar])
    return (
        "The bare baselines against TechEmpower's implementations (the peers: bench.toml's"
        " `[peer]`, run from a checkout of theirs, docs/measurements.md), requests/s, and the"
        " baseline ÷ the peer in the same round; the bar is at or above (≥ 1.00).\n\n"
        + markdown_table(
            ["behaviour", "peer", "peer's", "baseline's", "baseline ÷ peer", "at or above"], body
        )
    )


def figure(row: Row, name: str) -> str:
    """A subject's figure on this row, or why there is none (a peer's baseline is not in a run of
    peers alone)."""
    cell = row.cells.get(name)
    if cell is None or cell.status == "not measured":
        return "not in this run"
    return number(cell.median, row.primary) if cell.status == "ok" else cell.reason


def deployment_table(results: Mapping[str, Any], table: Sequence[Row]) -> str:
    """Each running deployment after the first beside the first, item by item."""
    cells = {(row.id, name): cell for row in table for name, cell in row.cells.items()}

    def cpu(item: str, name: str) -> str:
        """The median of its CPU a request (--deployment-pids), in ms."""
        found = cells[(item, name)].extra.get("cpu_ms_per_request")
        return f"{statistics.median(found):.2f}" if found else "—"

    body = [
        [f"`{f['item']}`", f"`{f['deployment']}`", f"`{f['first']}`",
         f"{f['ratio']:.2f} ({f['low']:.2f}–{f['high']:.2f})",
         f"{cpu(f['item'], f['first'])}, {cpu(f['item'], f['deployment'])}"]
        for f in deployment_ratios(results, table)
    ]  # fmt: skip
    if not body:
        return ""
    return (
        "The running deployments (--deployment), each against the first: its value ÷ the"
        " first's in the same round (median, 95% bootstrap interval), whichever way is better;"
        " and the CPU a request of each one's processes (--deployment-pids), median, in ms.\n\n"
        + markdown_table(
            ["item", "deployment", "first", "deployment ÷ first", "CPU ms a request: first, it"],
            body,
        )
    )


def details_table(results: Mapping[str, Any], table: Sequence[Row]) -> str:
    body = []
    for row in table:
        for name, cell in row.cells.items():
            if cell.status != "ok":
                continue
            med = statistics.median
            body.append([
                f"`{row.id}`", name, number(cell.median, row.primary), spread(cell, row.primary),
                f"{cell.ratio:.2f}" if cell.ratio is not None else "—",
                milliseconds(cell.p50_ms), milliseconds(cell.p99_ms), str(cell.errors),
                f"{med(cell.cpu_pct):.0f}" if cell.cpu_pct else "—",
                f"{max(cell.rss_mib):.0f}" if cell.rss_mib else "—",
                f"{med(cell.generator_pct):.0f}" if cell.generator_pct else "—",
            ])  # fmt: skip
    return markdown_table(
        ["item", "subject", "median", "95% interval", "×aiohttp", "p50 ms", "p99 ms", "errors",
         "server CPU %", "peak RSS MiB", "load generator CPU %"],
        body,
    )  # fmt: skip


def milliseconds(values: Sequence[float]) -> str:
    """The median of per-round latencies; a dash where there is none (a rate ladder has one
    p99 a rate: they are in its plot)."""
    found = [v for v in values if not math.isnan(v)]
    return f"{statistics.median(found):.1f}" if found else "—"


def machine_line(results: Mapping[str, Any]) -> str:
    m, s, v = results["machine"], results["settings"], results["versions"]
    load = m.get("load_average", [])
    packages = v["packages"]
    return (
        f"{m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; Python"
        f" {v['python']}, aiohttp {packages.get('aiohttp')}, Django {packages.get('Django')},"
        f" Channels {packages.get('channels')}, daphne {packages.get('daphne')}, uvicorn"
        f" {packages.get('uvicorn')}, hypercorn {packages.get('hypercorn')}. Load average at the"
        f" start: {', '.join(map(str, load))}. {sentence(s['pinning']['about'])}; load from"
        f" {s['generator']['name']}, {s['connections']} connections, {s['workers']} worker"
        f" process(es) each, {s['rounds']} round(s) of {s['duration_s']:g} s after"
        f" {s['warmup_s']:g} s of warm-up; {s['others_paused']}."
    )


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def footnotes(notes: Sequence[str]) -> str:
    return "\n".join(f"[{i}] {note}  " for i, note in enumerate(notes, 1))


IN_PARTS = (
    "Taken in parts (`make bench PART=NAME`, bench.toml's `[parts]`), each a run of its own:"
    " every figure of a part, and every ratio (× aiohttp, app ÷ baseline, baseline ÷ peer, the"
    " scaling), comes from its run, its rounds."
)


def markdown(results: Mapping[str, Any]) -> str:
    """The summary: main tables, baselines, every number in detail, the settings; of results
    taken in parts, a section a run."""
    if not parts.merged(results):
        return run_markdown(results, f"# Bench results, {results['started']}", "##")
    taken = parts.runs(results)
    head = [
        f"# Bench results, in {len(taken)} runs",
        IN_PARTS,
        "\n".join(f"- {parts.title(run)}" for run in taken),
    ]
    sections = [run_markdown(run, f"## {parts.title(run)}", "###") for run in taken]
    return "\n\n".join(head) + "\n\n" + "\n".join(sections)


def run_markdown(results: Mapping[str, Any], title: str, level: str) -> str:
    """One run's summary under `title`, its sections' headings at `level`."""
    table = rows(results)
    notes: list[str] = []
    main = main_tables(results, table, notes)
    note = f"\n\n**Note:** {results['note']}" if results.get("note") else ""
    part = results.get("part")
    parts_ = [
        title,
        f"Measured on {machine_line(results)} {quiet_sentence(results)}{note}",
        main,
        footnotes(notes),
        baseline_table(results, table),
        scaling_table(results, table),
        peer_table(results, table),
        deployment_table(results, table),
        f"{level} Every number\n\nMedians over the rounds and their 95% bootstrap intervals;"
        " errors summed; peak RSS the largest.\n\n" + details_table(results, table),
        f"{level} Settings\n\n```json\n" + json.dumps(results["settings"], indent=1) + "\n```",
        f"Reproduce: `make bench PART={part}`."
        if part
        else "Reproduce: `make bench` (or `python -m compare bench --help`).",
    ]
    chat_notes = [
        f"- `{row.id}` on `{name}`: {note}"
        for row in table
        for name, cell in row.cells.items()
        for note in cell.notes
    ]
    if chat_notes:
        parts_.insert(6, "Notes from the scenarios:\n\n" + "\n".join(chat_notes))
    return "\n\n".join(p for p in parts_ if p) + "\n"


def results_block(results: Mapping[str, Any], source: str) -> str:
    """docs/measurements.md's results section (between the bench markers), from a results JSON;
    of results taken in parts, a paragraph and the tables of each run."""
    sections = []
    for run in parts.runs(results):
        table = rows(run)
        notes: list[str] = []
        main = main_tables(run, table, notes)
        note = f" {run['note']}" if run.get("note") else ""
        where = f"From `{source}` ({run['started']}), measured on"
        if parts.merged(results):
            where = f"**{parts.title(run)}.** Measured on"
        sections += [
            f"{where} {machine_line(run)} {quiet_sentence(run)}{note}",
            main,
            footnotes(notes),
            baseline_table(run, table),
            scaling_table(run, table),
            peer_table(run, table),
        ]
    head = [f"From `{source}`. {IN_PARTS}"] if parts.merged(results) else []
    again = (
        "`make bench` measures again into `docs/bench/` (`make bench PART=NAME`, a part)"
        if parts.merged(results)
        else "`make bench` measures again into `docs/bench/`"
    )
    return "\n\n".join(p for p in [
        BLOCK_BEGIN,
        *head,
        *sections,
        f"Every number, the settings and the plots: `{Path(source).with_name('summary.md')}`"
        f" and the site's bench page (`python -m compare site`). Reproduce: {again}"
        " and rewrites this section from its `results.json` (`python -m compare docs`).",
        BLOCK_END,
    ] if p)  # fmt: skip


def terminal(results: Mapping[str, Any], width: int = 120) -> str:
    """The table for the terminal: one line an item, a column a subject (medians, ×aiohttp); of
    results taken in parts, a table a run."""
    if parts.merged(results):
        return "\n".join(
            f"{parts.title(run)}\n{run_terminal(run, width)}" for run in parts.runs(results)
        )
    return run_terminal(results, width)


def run_terminal(results: Mapping[str, Any], width: int = 120) -> str:
    table = rows(results)
    subjects = list(results["subjects"])
    notes: list[str] = []
    head = ["item", "measured", *subjects]
    body = [
        [row.id, heading(row), *(cell_text(row, row.cells[s], notes, False) for s in subjects)]
        for row in table
    ]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in body
    ]
    lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    lines.append(quiet_sentence(results))
    for found in baseline_ratios(results, table):
        lines.append(
            f"{found['app']} ÷ {found['baseline']} on {found['item']}: {found['ratio']:.2f}"
            f" ({found['low']:.2f}–{found['high']:.2f})"
        )
    if scaled := scaling_rows(results, table):
        lines.append(scaling_sentence(results))
        one, many = results["settings"]["workers"], results["settings"]["scaling"]["workers"]
        for behaviour, name, low, high, ratio in scaled:
            with_many = f"{high} with {many}" if ratio != "—" else f"with {many}: {high}"
            times = f" ({ratio})" if ratio != "—" else ""
            lines.append(
                f"{name} on {behaviour.strip('`')}: {low} req/s with {one} worker(s),"
                f" {with_many}{times}"
            )
    for found in peer_ratios(results, table):
        lines.append(
            f"{found['baseline']} ÷ {found['peer']} on {found['item']}: {found['ratio']:.2f}"
            f" ({found['low']:.2f}–{found['high']:.2f})"
        )
    for found in deployment_ratios(results, table):
        lines.append(
            f"{found['deployment']} ÷ {found['first']} on {found['item']}: {found['ratio']:.2f}"
            f" ({found['low']:.2f}–{found['high']:.2f})"
        )
    return "\n".join(lines) + "\n"


def load(path: Path) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return results
