"""SVG plots of a results JSON (matplotlib): one a measurement, and an overview of the ratios."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compare.bench import history, openloop, parts
from compare.bench.report import REFERENCE, Row, heading, rows

COLORS = {
    "aiohttp": "#2b6cb0",
    "django-daphne": "#2f855a",
    "django-uvicorn": "#c05621",
    "django-hypercorn": "#6b46c1",
    "aiohttp-hello": "#90cdf4",
    "django-hello": "#f6ad55",
}
FALLBACK_COLORS = ("#718096", "#b83280", "#2c7a7b", "#975a16")


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.hashsalt": "compare-bench",  # the same SVG for the same numbers
        "svg.fonttype": "none",  # text stays text: smaller, searchable
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })  # fmt: skip
    return plt


def color(name: str, index: int) -> str:
    return COLORS.get(name, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


def save(figure: Any, path: Path) -> Path:
    figure.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    pyplot().close(figure)
    return path


def item_plot(row: Row, path: Path, run: str = "") -> Path:
    """A bar a subject: the median, whiskers its 95% bootstrap interval, a dot each round; ideal
    dashed."""
    plt = pyplot()
    # A baseline appears only on the behaviours it serves.
    names = [name for name, cell in row.cells.items() if cell.status != "not measured"]
    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.4))
    for y, name in enumerate(names):
        cell = row.cells[name]
        if cell.median is None:
            axes.text(0, y, "  n/a: " + (cell.reason or cell.status)[:70], va="center",
                      fontsize=8, color="#718096")  # fmt: skip
            continue
        axes.barh(y, cell.median, color=color(name, y), height=0.6)
        low, high = cell.interval or (cell.median, cell.median)
        axes.errorbar(cell.median, y, xerr=[[cell.median - low], [high - cell.median]],
                      fmt="none", ecolor="#1a202c", capsize=3, linewidth=1)  # fmt: skip
        axes.plot(cell.values, [y] * len(cell.values), "o", color="#1a202c", markersize=2.5)
        label = f" {cell.median:,.0f}" if cell.median >= 100 else f" {cell.median:.3g}"
        if name != REFERENCE and cell.ratio is not None:
            label += f"  ×{cell.ratio:.2f}"
        if row.kind == "chat":
            members = statistics.median(cell.extra["members"])
            received = statistics.median(cell.extra["received_pct"])
            label += f"  ({members:.0f} members, {received:.0f}% received)"
        if row.kind == "ws-idle":
            label += f"  ({statistics.median(cell.extra['open']):,.0f} open)"
        axes.text(max(high, *cell.values), y, label, va="center", fontsize=8)
    if row.ideal is not None:
        ideal = row.ideal if row.primary == "wall_s" else row.ideal * 1000
        axes.axvline(ideal, color="#e53e3e", linestyle="--", linewidth=1, label="ideal")
        axes.legend(loc="lower right", frameon=False)
    values = [v for name in names for v in row.cells[name].values if v > 0]
    if values and max(values) / min(values) > 100:  # e.g. 30 ms and 9 s: both stay readable
        axes.set_xscale("log")
    axes.set_yticks(range(len(names)), names)
    axes.invert_yaxis()
    better = "higher is better" if row.higher_is_better else "lower is better"
    axes.set_xlabel(f"{heading(row)}: {better}")
    axes.set_title(f"{row.id}: {row.request}" + (f"\n{run}" if run else ""), loc="left",
                   fontsize=10)  # fmt: skip
    axes.margins(x=0.25)
    return save(figure, path)


def curve_plot(row: Row, path: Path, run: str = "") -> Path:
    """The capacity curve: p99 (solid) and p50 (dotted) at each offered rate, a line a subject,
    medians over the rounds; the bound dashed, each subject's capacity in the legend."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    for index, (name, cell) in enumerate(row.cells.items()):
        p99 = openloop.curve(cell.extra, "p99_ms")
        if cell.status != "ok" or not p99:
            continue
        p50 = openloop.curve(cell.extra, "p50_ms")
        shade = color(name, index)
        capacity = f"{cell.median:,.0f}/s" if cell.median else "none"
        axes.plot(list(p99), [statistics.median(v) for v in p99.values()], "o-", color=shade,
                  label=f"{name} (capacity {capacity})")  # fmt: skip
        axes.plot(list(p50), [statistics.median(v) for v in p50.values()], ":", color=shade)
    if row.bound_ms:
        axes.axhline(row.bound_ms, color="#e53e3e", linestyle="--", linewidth=1,
                     label=f"p99 bound, {row.bound_ms:g} ms")  # fmt: skip
    rates = sorted(
        {rate for cell in row.cells.values() for rate in openloop.curve(cell.extra, "p99_ms")}
    )
    axes.set_xscale("log", base=2)
    axes.set_xticks(rates, [f"{rate:,.0f}" for rate in rates])
    axes.minorticks_off()
    axes.set_yscale("log")
    axes.set_xlabel("offered rate, requests/s (open loop: sent on schedule, whatever the answers)")
    axes.set_ylabel("latency from the intended send, ms (p99 solid, p50 dotted)")
    axes.set_title(f"{row.id}: {row.request}" + (f"\n{run}" if run else ""), loc="left",
                   fontsize=10)  # fmt: skip
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize=8,
                ncols=2)  # fmt: skip
    return save(figure, path)


def trend_plot(runs: Sequence[Mapping[str, Any]], item: str, path: Path) -> Path:
    """`item`'s median on each subject, run after run (the runs that measured it); a hollow
    marker for a run whose record does not say it was quiet."""
    plt = pyplot()
    runs = history.with_item(runs, item)
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    for index, (name, points) in enumerate(sorted(history.trend(runs, item).items())):
        xs, ys = [x for x, _ in points], [y for _, y in points]
        shade = color(name, index)
        axes.plot(xs, ys, "-", color=shade, label=name, linewidth=1)
        for x, y in points:
            filled = history.quiet(runs[x]) is True
            axes.plot([x], [y], "o", color=shade, markerfacecolor=shade if filled else "white")
    first = next((run["items"][item] for run in runs if item in run["items"]), None)
    better = "higher" if first and first["higher_is_better"] else "lower"
    when = [str(run["started"])[:16].replace("T", " ") for run in runs]
    axes.set_xticks(range(len(runs)), when, rotation=30, ha="right")
    axes.set_ylabel(f"{item}: median {first['primary'] if first else ''} ({better} is better)")
    axes.set_title(f"{item}, run after run (hollow: not known to be quiet)", loc="left",
                   fontsize=10)  # fmt: skip
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    axes.margins(x=0.1)
    return save(figure, path)


def overview_plot(table: Sequence[Row], subjects: Sequence[str], path: Path) -> Path:
    """Every measurement's median ratio to the aiohttp target (log scale: 1 is aiohttp)."""
    plt = pyplot()
    others = [s for s in subjects if s != REFERENCE]
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(table) * max(1, len(others)) / 2 + 1.6))
    height = 0.8 / max(1, len(others))
    for index, name in enumerate(others):
        ys, ratios = [], []
        for y, row in enumerate(table):
            ratio = row.cells[name].ratio if name in row.cells else None
            if ratio:
                # Shown as "how many times better than aiohttp": > 1 is better, whichever way.
                ys.append(y + (index - (len(others) - 1) / 2) * height)
                ratios.append(ratio if row.higher_is_better else 1 / ratio)
        axes.barh(ys, ratios, height=height, color=color(name, index), label=name)
    axes.axvline(1, color="#1a202c", linewidth=1, label=f"{REFERENCE} = 1")
    axes.set_xscale("log")
    axes.set_yticks(range(len(table)), [row.id for row in table])
    axes.invert_yaxis()
    axes.set_xlabel("× the aiohttp target, in the same round (> 1: better than aiohttp)")
    axes.legend(loc="lower right", frameon=False, fontsize=8)
    return save(figure, path)


def write(results: Mapping[str, Any], out: Path) -> list[Path]:
    """plots/overview.svg and plots/<item>.svg into `out`; taken in parts, each item's plot
    names the run it comes from."""
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    table = rows(results)
    runs = {}
    if parts.merged(results):
        runs = {
            item["id"]: f"part {run.get('part') or '(none)'}, the run of {run['started']}"
            for run in parts.runs(results)
            for item in run["items"]
        }
    written = [overview_plot(table, list(results["subjects"]), plots / "overview.svg")]
    written += [
        (curve_plot if row.kind == "rate-ladder" else item_plot)(
            row, plots / f"{row.id}.svg", runs.get(row.id, "")
        )
        for row in table
    ]
    for stale in set(plots.glob("*.svg")) - set(written):
        stale.unlink()
    return written
