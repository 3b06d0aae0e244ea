"""The bench's part of the reading site: the plots and tables of a results JSON, as HTML."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from compare.bench import history, parts, report
from compare.bench.config import BenchConfig
from shared.harness.targets import PROJECT_ROOT

RESULTS_DIRS = (PROJECT_ROOT / "var" / "bench", PROJECT_ROOT / "docs" / "bench")
PAGE = "bench.html"
PLOTS = "bench"  # the site's folder of plots
TREND_ITEMS = ("json", "hello-rate")  # drawn run after run on the bench page


@dataclass(frozen=True)
class Bench:
    """A results JSON and the folder of its plots."""

    directory: Path
    results: Mapping[str, Any]

    @classmethod
    def find(cls, directory: Path | None = None) -> Bench | None:
        """`directory`, else the last local run (var/bench), else the committed one (docs/bench)."""
        for candidate in [directory] if directory else RESULTS_DIRS:
            if (candidate / "results.json").exists():
                return cls(candidate, report.load(candidate / "results.json"))
        return None

    @property
    def latest(self) -> Mapping[str, Any]:
        """The run that started last: all of them, for results taken at once."""
        return max(parts.runs(self.results), key=lambda run: str(run["started"]))

    @property
    def when(self) -> str:
        """When it was measured: the run's start, or how many parts' runs and the last start."""
        if parts.merged(self.results):
            count = len(self.results["runs"])
            return f"{count} runs, a part each, the latest {self.latest['started']}"
        return str(self.results["started"])

    def copy_plots(self, out: Path) -> list[Path]:
        """The run's plots, and the trends of its history (drawn here: they span runs)."""
        target = out / PLOTS
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        copied = [
            Path(shutil.copy2(svg, target / svg.name))
            for svg in sorted((self.directory / "plots").glob("*.svg"))
        ]
        if runs := self.history():
            from compare.bench import plots  # matplotlib: only when there is a history to draw

            copied += [
                plots.trend_plot(runs, item, target / f"trend-{item}.svg")
                for item in self.trend_items(runs)
            ]
        return copied

    def history(self) -> list[dict[str, Any]]:
        """The runs kept beside these results (docs/bench/history for the committed ones)."""
        directory = self.directory / "history"
        return history.load_all(directory) if directory.is_dir() else []

    @staticmethod
    def trend_items(runs: Sequence[Mapping[str, Any]]) -> list[str]:
        return [item for item in TREND_ITEMS if any(item in run["items"] for run in runs)]

    def items_of(self, behaviour: str, config: BenchConfig | None) -> list[str]:
        """The measurements of a behaviour: its main case and scenarios (bench.toml's too)."""
        named = (
            set(config.main[behaviour].scenarios) if config and behaviour in config.main else set()
        )
        return [
            item["id"]
            for item in self.results["items"]
            if item["behaviour"] == behaviour or item["id"] in named
        ]

    def source(self) -> str:
        try:
            return (self.directory / "results.json").resolve().relative_to(PROJECT_ROOT).as_posix()
        except ValueError:
            return str(self.directory / "results.json")


def html_table(headers: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body)
    return (
        f'<div class="table-scroll"><table class="bench"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def figure(item: str, root: str, caption: str) -> str:
    return (
        f'<figure class="plot" id="plot-{escape(item)}"><img src="{root}{PLOTS}/{escape(item)}.svg"'
        f' alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'
    )


def behaviour_section(bench: Bench | None, behaviour: str, config: BenchConfig | None) -> str:
    """The plots of one behaviour's measurements, for its page (or why there are none)."""
    if bench is None:
        return '<p class="muted">No bench results yet: <code>make bench</code>.</p>'
    items = bench.items_of(behaviour, config)
    if not items:
        return (
            '<p class="muted">Not measured by the bench'
            " (see <code>compare/bench/bench.toml</code>).</p>"
        )
    rows = {row.id: row for row in report.rows(bench.results)}
    figures = "".join(
        figure(item, "../", f"{item}: {rows[item].request} — {report.heading(rows[item])}")
        for item in items
    )
    when = escape(bench.results.get("started", ""))
    if parts.merged(bench.results):  # each item's run: its part's
        by_run: dict[str, list[str]] = {}
        for item in items:
            by_run.setdefault(parts.title(parts.run_of(bench.results, item)), []).append(item)
        when = "; ".join(
            f"{', '.join(escape(i) for i in ids)} from {escape(title.replace('`', ''))}"
            for title, ids in by_run.items()
        )
    return (
        f'<div class="plots">{figures}</div><p class="run">From <code>{escape(bench.source())}'
        f"</code>, {when}: the median of the rounds, whiskers its"
        " 95% bootstrap interval, a dot each round;"
        f' <a href="../{PAGE}">all measurements</a>.</p>'
    )


def overview_page(bench: Bench | None) -> str:
    """The body of bench.html: the machine, the tables, the overview and every plot; of results
    taken in parts, the machine and the tables of each run."""
    if bench is None:
        return (
            "<h1>Measurements</h1><p>No bench results yet. <code>make bench</code> measures every"
            " behaviour on every target and writes them to <code>docs/bench/</code>.</p>"
        )
    results = bench.results
    table = report.rows(results)
    if parts.merged(results):
        taken = parts.runs(results)
        intro = (
            f"from <code>{escape(bench.source())}</code>, in {len(taken)} runs."
            f" {escape(report.IN_PARTS)}</p>"
        )
        runs = "".join(
            f"<h2>{escape(parts.title(run).replace('`', ''))}</h2>{run_section(run, 'h3')}"
            for run in taken
        )
    else:
        intro = (
            f"from <code>{escape(bench.source())}</code>"
            f" ({escape(results['started'])}). {run_section(results, 'h2').removeprefix('<p>')}"
        )
        runs = ""
    plots = "".join(
        figure(row.id, "", f"{row.id}: {row.request} — {report.heading(row)}") for row in table
    )
    return f"""<h1>Measurements</h1>
<p>Every behaviour's main case and the concurrency scenarios on every target and on each
framework's bare baseline, {intro}
{runs}
{figure("overview", "", "Each measurement against the aiohttp target, in the same round")}
{history_section(bench)}
<h2>Every measurement</h2>
<div class="plots">{plots}</div>
<p class="run">Reproduce: <code>make bench</code> (<code>make bench PART=NAME</code>, a part).
Every setting is in the results JSON.</p>"""


def run_section(results: Mapping[str, Any], level: str) -> str:
    """One run's machine, quietness, note and tables (its headings at `level`)."""
    table = report.rows(results)
    subjects = list(results["subjects"])
    notes: list[str] = []
    body = [
        [f'<a href="behaviours/{escape(row.behaviour)}.html">{escape(row.id)}</a>',
         f"<code>{escape(row.request)}</code>", escape(report.heading(row)),
         *(escape(report.cell_text(row, row.cells[s], notes)) for s in subjects)]
        for row in table
    ]  # fmt: skip
    footnotes = "".join(f"<li>{escape(note)}</li>" for note in notes)
    baselines = [
        [escape(f["item"]), escape(f["app"]), escape(f["baseline"]),
         f"{f['ratio']:.2f} ({f['low']:.2f}–{f['high']:.2f})"]
        for f in report.baseline_ratios(results, table)
    ]  # fmt: skip
    note = f"<p><strong>Note:</strong> {escape(results['note'])}</p>" if results.get("note") else ""
    return f"""<p>Measured on {escape(report.machine_line(results))}
{escape(report.quiet_sentence(results))}</p>
{note}
<{level}>Medians (95% bootstrap interval) and × the aiohttp target</{level}>
{html_table(["measurement", "what", "measured", *subjects], body)}
{f'<ol class="footnotes">{footnotes}</ol>' if footnotes else ""}
{f"<{level}>Each app against its framework's minimum</{level}>" if baselines else ""}
{html_table(["behaviour", "app", "baseline", "app ÷ baseline"], baselines) if baselines else ""}
{scaling_section(results, table, level)}"""


def scaling_section(
    results: Mapping[str, Any], table: Sequence[report.Row], level: str = "h2"
) -> str:
    """Requests/s with one worker process and with the scaling pass's, side by side."""
    if not (body := report.scaling_rows(results, table)):
        return ""
    cells = [[escape(cell).replace("`", "") for cell in row] for row in body]
    heading = f"<{level}>Scaling</{level}>"
    return (
        heading
        + f"<p>{escape(report.scaling_sentence(results))}</p>"
        + html_table(report.scaling_heading(results), cells)
    )


def history_section(bench: Bench) -> str:
    """Every run kept: the trends of the headline items, and a line a run."""
    runs = bench.history()
    if not runs:
        return ""
    figures = "".join(
        figure(f"trend-{item}", "", f"{item}, run after run") for item in bench.trend_items(runs)
    )
    body = []
    for run in reversed(runs):
        at = run["commit"] or {}
        sha = at.get("sha", "")[:10] + (" (modified)" if at.get("modified") else "")
        packages = run["versions"]["packages"]
        quiet = {True: "quiet", False: "disturbed", None: "no record"}[history.quiet(run)]
        body.append([
            escape(str(run["started"])), escape(run.get("part") or "—"),
            f"<code>{escape(sha or '—')}</code>", quiet,
            escape(f"{run['settings'].get('rounds')} × {run['settings'].get('duration_s')} s"),
            escape(f"Python {run['versions']['python']}, aiohttp {packages.get('aiohttp')},"
                   f" Django {packages.get('Django')}"),
            escape(f"{run['machine']['cpu_model']}, {run['machine']['cores']} cores"),
        ])  # fmt: skip
    return (
        f"<h2>History</h2><p>Every run of the bench, kept in <code>"
        f"{escape(bench.source().rsplit('/', 1)[0])}/history/</code> (one JSON a run: its part,"
        " commit, versions, machine, settings, quietness, each item's medians).</p>"
        f'<div class="plots">{figures}</div>'
        + html_table(["started", "part", "commit", "machine", "rounds", "versions", "CPU"], body)
    )
