"""Results taken in parts: a run's measurements merged into earlier results, each run kept whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# What a run's results hold besides its items and measurements: its record, kept with it.
BODY = ("schema", "items", "measurements")


def runs(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each run of the results as the results of that run alone (schema 2): its record, its
    subjects, items and measurements. Results of one run (schema 2) are that run."""
    if "runs" not in results:  # its part and commit: none known before the record had them
        return [{"part": None, "commit": None, **results}]
    found = []
    for record in results["runs"]:
        found.append({
            "schema": 2, **record,
            "items": [i for i in results["items"] if i["run"] == record["id"]],
            "measurements": [m for m in results["measurements"] if m["run"] == record["id"]],
        })  # fmt: skip
    return found


def run_of(results: Mapping[str, Any], item: str) -> dict[str, Any]:
    """The run that measured `item` (the only run of results taken at once)."""
    found = runs(results)
    return next((r for r in found if any(i["id"] == item for i in r["items"])), found[0])


def merged(results: Mapping[str, Any]) -> bool:
    return "runs" in results


def combine(taken: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Runs (each its own results, schema 2) as one document (schema 3): each run's record in
    `runs`, under its `id` (when it started); every item and measurement naming its run."""
    if len({run["started"] for run in taken}) < len(taken):
        raise ValueError("two runs started at the same second: a run's id is its start")
    records = []
    subjects: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    measurements: list[dict[str, Any]] = []
    for run in taken:
        record = {k: v for k, v in run.items() if k not in BODY}
        record["id"] = run_id = run["started"]
        records.append(record)
        subjects |= run["subjects"]
        items += [{**item, "run": run_id} for item in run["items"]]
        measurements += [{**m, "run": run_id} for m in run["measurements"]]
    return {
        "schema": 3,
        "runs": records,
        "subjects": subjects,
        "items": items,
        "measurements": measurements,
    }


def merge(
    previous: Mapping[str, Any] | None,
    run: Mapping[str, Any],
    commit: Mapping[str, Any] | None,
    order: Sequence[str] = (),
) -> dict[str, Any]:
    """The previous results with `run`'s items replaced by its measurements of them: the others
    are kept with the runs they came from (a run none of whose items is left is dropped), so
    every item's figures, and the ratios between them, come from one run. Runs in the order of
    their parts in `order` (bench.toml's), a run of no part first."""
    replaced = {item["id"] for item in run["items"]}
    kept = []
    for earlier in runs(previous) if previous else []:
        items = [i for i in earlier["items"] if i["id"] not in replaced]
        if items:
            measurements = [m for m in earlier["measurements"] if m["item"] not in replaced]
            kept.append({**earlier, "items": items, "measurements": measurements})
    new = {**run, "commit": commit}
    ranked = sorted([*kept, new], key=lambda r: rank(r.get("part"), order))
    return combine(ranked)


def rank(part: str | None, order: Sequence[str]) -> int:
    if part is None:
        return -1
    return order.index(part) if part in order else len(order)


def title(run: Mapping[str, Any]) -> str:
    """A run's heading: its part (or none), and when it ran, on which commit."""
    what = f"Part `{run['part']}`" if run.get("part") else "A run of no part"
    commit = run.get("commit") or {}
    sha = commit.get("sha", "")[:10]
    at = f", commit `{sha}`" + " (modified)" * bool(commit.get("modified")) if sha else ""
    return f"{what}: the run of {run['started']} to {run['finished']}{at}"
