"""The docs' generated blocks, each rendered from data: `python -m compare docs` rewrites them."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from compare import routes
from compare.bench import asgi_cost
from compare.bench import report as bench_report
from shared.harness import tables
from shared.harness.expected import expected
from shared.harness.http_rules import HOSTILE_CHECKS, Rule, http_rules
from shared.harness.targets import PROJECT_ROOT, load_targets
from shared.runtime.openapi import DOCUMENT_PATH
from shared.spec import Behaviour, spec
from shared.spec import openapi as openapi_document

BENCH_RESULTS = PROJECT_ROOT / "docs" / "bench" / "results.json"
SPLIT_RESULTS = PROJECT_ROOT / "docs" / "bench" / "split-deployment.json"  # --deployment's


def short_ref(ref: str) -> str:
    """`aiohttp_app.basics.views:hello` as `basics/views.py` `hello`: its app's file, the name."""
    module, _, qualname = ref.partition(":")
    package, _, rest = module.partition(".")
    path = module if package == "shared" else rest
    return f"`{path.replace('.', '/')}.py` `{qualname}`"


def part_of(behaviour: Behaviour) -> str:
    return behaviour.source.stem.partition("-")[2]


def behaviours_table() -> str:
    """README.md: every behaviour, what it does, and each app's first implementation of it."""
    rows = [
        [
            f"`{b.id}`",
            part_of(b),
            b.purpose,
            short_ref(b.implementations["aiohttp"][0]),
            short_ref(b.implementations["django"][0]),
            str(len(b.cases)),
        ]
        for b in spec().behaviours
    ]
    return tables.markdown_table(["id", "part", "purpose", "aiohttp", "Django", "cases"], rows)


def behaviour_notes() -> str:
    """docs/behaviours.md: each behaviour's `notes` from the spec: what differs, and why."""
    sections = []
    for b in spec().behaviours:
        notes = b.notes.strip() or "The spec has no notes for it."
        sections.append(f"### `{b.id}`\n\n{b.purpose} Seed: {b.seed}.\n\n{notes}")
    return "\n\n".join(sections)


def routes_table() -> str:
    """docs/api.md: every route, its inputs, its answers and the error codes it may send."""
    rows = []
    for behaviour in spec().behaviours:
        for route in behaviour.routes:
            rows.append(
                [
                    f"`{route.key}`" + (" (websocket)" if route.websocket else ""),
                    f"`{behaviour.id}`",
                    route.summary,
                    routes.inputs(route),
                    routes.answers(route),
                    tables.code(route.implied_errors()) or "—",
                ]
            )
    headers = ["route", "behaviour", "what it does", "inputs (? optional)", "answers", "errors"]
    return tables.markdown_table(headers, rows)


def hostile_rules() -> list[Rule]:
    return [rule for rule in http_rules() if rule.check in HOSTILE_CHECKS]


def targets_table() -> str:
    """docs/targets.md: each target, its app and its server, from the target registry."""
    registry = expected()
    rows = [
        [
            f"`{t.name}`",
            t.app,
            t.server,
            ", ".join(t.requires) or "—",
            tables.code(registry.lacks(t.name)) or "—",
        ]
        for t in load_targets().values()
    ]
    return tables.markdown_table(["target", "app", "server", "requires", "lacks"], rows)


def bench_parts() -> str:
    """docs/measurements.md: the bench's parts (bench.toml's [parts]) and each one's estimate."""
    from compare.bench import config, plan  # the runner's imports: only for this block

    return plan.parts_table(config.load(spec()), spec(), load_targets())


def bench_results(path: Path = BENCH_RESULTS) -> str:
    """docs/measurements.md: the results of the last `make bench`, from its results.json; a
    disturbed run (its quietness record) raises bench_report.DisturbedRun instead."""
    results = bench_report.load(path)
    bench_report.require_quiet(results)
    source = path.relative_to(PROJECT_ROOT).as_posix()
    block = bench_report.results_block(results, source)
    return block.removeprefix(bench_report.BLOCK_BEGIN).removesuffix(bench_report.BLOCK_END)


def split_deployment(path: Path = SPLIT_RESULTS) -> str:
    """docs/django-asgi-cost.md: the split deployment against the single ASGI one, through the
    compose stack's nginx, from the results of `python -m compare bench --deployment ...`."""
    results = bench_report.load(path)
    table = bench_report.rows(results)
    m, s = results["machine"], results["settings"]
    command = shlex.join(["python", "-m", "compare", *s["command"][1:]])
    return "\n\n".join([
        f"From `{path.relative_to(PROJECT_ROOT).as_posix()}` ({results['started']}): {m['cores']}"
        f" cores ({m['cpu_model']}), load average {', '.join(map(str, m['load_average']))} at the"
        f" start, {', '.join(map(str, m['load_average_after']))} at the end; {s['rounds']} rounds"
        f" of {s['duration_s']:g} s, {s['connections']} connections. "
        + bench_report.quiet_sentence(results),
        f"```sh\n{command}\n```",
        bench_report.deployment_table(results, table),
    ])  # fmt: skip


@cache
def asgi_cost_results() -> asgi_cost.Results:
    """`make asgi-cost`'s results, read once for every block of its doc."""
    results: asgi_cost.Results = json.loads(asgi_cost.RESULTS.read_text(encoding="utf-8"))
    return results


def asgi_cost_table() -> str:
    """docs/django-asgi-cost.md: what ASGI costs Django, from `make asgi-cost`'s results."""
    block = asgi_cost.doc_block(asgi_cost_results())
    return block.removeprefix(asgi_cost.DOC_BEGIN).removesuffix(asgi_cost.DOC_END)


def asgi_cost_part(render: Callable[[asgi_cost.Results], str]) -> Callable[[], str]:
    """docs/django-asgi-cost.md: one of its paragraphs, rendered from `make asgi-cost`'s results."""
    return lambda: render(asgi_cost_results())


@dataclass(frozen=True)
class Block:
    """A generated part of a doc, between `<!-- name:begin -->` and `<!-- name:end -->`."""

    path: Path
    name: str
    render: Callable[[], str]

    def current(self) -> str:
        return tables.block(self.path.read_text(encoding="utf-8"), self.name)

    def rendered(self) -> str:
        return self.render().strip()

    def write(self) -> bool:
        """Rewrite the block; True if it changed."""
        if self.current() == self.rendered():
            return False
        text = self.path.read_text(encoding="utf-8")
        self.path.write_text(tables.with_block(text, self.name, self.rendered()), encoding="utf-8")
        return True


@dataclass(frozen=True)
class WholeFile(Block):
    """A file rendered whole from data (the OpenAPI document); `name` says what it is."""

    def current(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""

    def rendered(self) -> str:
        return self.render()

    def write(self) -> bool:
        if self.current() == self.rendered():
            return False
        self.path.write_text(self.rendered(), encoding="utf-8")
        return True


DOCS = PROJECT_ROOT / "docs"
BLOCKS = (
    WholeFile(DOCUMENT_PATH, "openapi", lambda: openapi_document.render(spec())),
    Block(DOCS / "api.md", "routes", routes_table),
    Block(PROJECT_ROOT / "README.md", "behaviours", behaviours_table),
    Block(DOCS / "behaviours.md", "notes", behaviour_notes),
    Block(DOCS / "targets.md", "targets", targets_table),
    Block(DOCS / "targets.md", "lacks-table", lambda: tables.lacks_table(expected(), spec())),
    Block(
        DOCS / "targets.md",
        "differences-table",
        lambda: tables.differences_table(expected(), spec()),
    ),
    Block(DOCS / "targets.md", "server-answers", lambda: tables.server_answers_table(expected())),
    Block(DOCS / "http.md", "http-table", lambda: tables.http_table(expected(), http_rules())),
    Block(DOCS / "http.md", "http-rules", lambda: tables.http_rules_table(http_rules())),
    Block(DOCS / "http.md", "http-differences", lambda: tables.http_differences_table(expected())),
    Block(DOCS / "http.md", "hostile", lambda: tables.hostile_table(expected(), hostile_rules())),
    Block(DOCS / "measurements.md", "bench-parts", bench_parts),
    Block(DOCS / "measurements.md", "bench", bench_results),
    Block(DOCS / "django-asgi-cost.md", "asgi-cost", asgi_cost_table),
    Block(DOCS / "django-asgi-cost.md", "split-deployment", split_deployment),
    *(
        Block(DOCS / "django-asgi-cost.md", name, asgi_cost_part(render))
        for name, render in asgi_cost.DOC_PARTS.items()
    ),
)


def stale() -> Iterator[Block]:
    """The blocks whose text is not what their data renders today."""
    return (block for block in BLOCKS if block.current() != block.rendered())


def write_all() -> list[Block]:
    """Rewrite every block from its data; the ones that changed."""
    return [block for block in BLOCKS if block.write()]
