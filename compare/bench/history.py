"""Every bench run, kept as one small JSON: its commit, versions, machine, settings, quietness."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compare.bench import report
from shared.harness.targets import PROJECT_ROOT

HISTORY = PROJECT_ROOT / "docs" / "bench" / "history"
SETTINGS = ("duration_s", "warmup_s", "rounds", "connections", "workers", "timeout_s", "command")


def commit(root: Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """The checkout's commit and whether its tracked files differ from it; None outside git."""
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return None
    status = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return {"sha": head.stdout.strip(), "modified": bool(status.stdout.strip())}


def entry(results: Mapping[str, Any], where: str, at: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's record: what it ran on and with, how quiet it was, and each item's medians."""
    settings = results["settings"]
    return {
        "schema": 1,
        "part": results.get("part"),  # bench.toml's [parts]: the items of this run; None: no part
        "started": results["started"],
        "finished": results["finished"],
        "commit": at,
        "results": where,
        "note": results.get("note", ""),
        "machine": results["machine"],
        "versions": results["versions"],
        "settings": {
            **{key: settings[key] for key in SETTINGS if key in settings},
            "generator": settings["generator"]["name"],
            "pinning": settings["pinning"]["about"],
            "quiet": settings.get("quiet"),
        },
        "quietness": results.get("quietness"),
        "items": {
            row.id: {
                "primary": row.primary,
                "higher_is_better": row.higher_is_better,
                "medians": {
                    name: round(cell.median, 3)
                    for name, cell in row.cells.items()
                    if cell.median is not None
                },
            }
            for row in report.rows(results)
        },
    }


def write(record: Mapping[str, Any], directory: Path) -> Path:
    """docs/bench/history/<start>[-<part>]-<commit>.json: a new file each run, never rewritten."""
    directory.mkdir(parents=True, exist_ok=True)
    sha = (record["commit"] or {}).get("sha", "")[:10] or "no-commit"
    stamp = record["started"].replace(":", "").replace("+0000", "Z")
    part = f"-{record['part']}" if record.get("part") else ""
    path = directory / f"{stamp}{part}-{sha}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_all(directory: Path = HISTORY) -> list[dict[str, Any]]:
    """Every run kept, oldest first."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.json")]
    return sorted(runs, key=lambda run: str(run["started"]))


def quiet(run: Mapping[str, Any]) -> bool | None:
    """Whether the run's record says it was quiet; None for a run before the record."""
    record = run.get("quietness")
    return None if record is None else bool(record["quiet"])


def with_item(runs: Sequence[Mapping[str, Any]], item: str) -> list[Mapping[str, Any]]:
    """The runs that measured `item` (a part's run measures its own items only)."""
    return [run for run in runs if item in run["items"]]


def trend(runs: Sequence[Mapping[str, Any]], item: str) -> dict[str, list[tuple[int, float]]]:
    """Each subject's median of `item`, run by run: (the run's index, the median)."""
    found: dict[str, list[tuple[int, float]]] = {}
    for index, run in enumerate(runs):
        for subject, median in run["items"].get(item, {}).get("medians", {}).items():
            found.setdefault(subject, []).append((index, median))
    return found
