"""`python -m compare list|show|matrix|site|docs|bench`: code side by side, status, docs, speed."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from compare import UnknownBehaviour, find_behaviour
from compare import docs as generated
from compare.bench import cli as bench
from compare.report import default_report_path, load, matrix
from compare.site import build
from compare.source import APP_TITLES, SourceError, implementations
from compare.terminal import Painter, Pane, render_list, render_matrix, render_show, use_color
from shared.harness.targets import PROJECT_ROOT, load_targets
from shared.spec import spec

SITE_DIR = PROJECT_ROOT / "var" / "site"


def terminal_width(given: int | None) -> int:
    return given or shutil.get_terminal_size().columns


def painter(args: argparse.Namespace) -> Painter:
    return Painter(use_color(sys.stdout, args.color))


def cmd_list(args: argparse.Namespace) -> int:
    report = load(args.report)
    text = render_list(
        spec(), report, list(load_targets()), terminal_width(args.width), painter(args)
    )
    sys.stdout.write(text)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    the_spec = spec()
    behaviour = find_behaviour(the_spec, args.behaviour)
    panes = [Pane(APP_TITLES[app], sources) for app, sources in implementations(behaviour).items()]
    text = render_show(behaviour, the_spec, panes, terminal_width(args.width), painter(args))
    sys.stdout.write(text)
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    path: Path = args.report or default_report_path()
    status = 0
    if args.run:
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "-q",
            f"--parity-report={path}",
        ]
        argv += [f"--target={target}" for target in args.target]
        print("$", " ".join(argv[1:]), file=sys.stderr, flush=True)
        status = subprocess.run(argv, cwd=PROJECT_ROOT, check=False).returncode
        print(file=sys.stderr)
    targets = list(load_targets())
    report = load(path)
    width = terminal_width(args.width)
    sys.stdout.write(render_matrix(spec(), report, targets, width, painter(args)))
    failing = any(
        cell.kind == "fail"
        for row in matrix(report, spec(), targets).values()
        for cell in row.values()
    )
    return status or int(failing)


def cmd_site(args: argparse.Namespace) -> int:
    pages = build(args.out, load(args.report))
    print(f"wrote {args.out / 'index.html'} and {len(pages) - 1} behaviour pages")
    print(f"open file://{(args.out / 'index.html').resolve()}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    if args.check:
        if stale := [f"{b.path.relative_to(PROJECT_ROOT)} ({b.name})" for b in generated.stale()]:
            print(f"stale: {', '.join(stale)}; `python -m compare docs` rewrites them")
            return 1
        print(f"all {len(generated.BLOCKS)} generated blocks are current")
        return 0
    changed = generated.write_all()
    for block in changed:
        print(f"rewrote {block.path.relative_to(PROJECT_ROOT)} ({block.name})")
    print(f"{len(changed)} of {len(generated.BLOCKS)} generated blocks changed")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m compare", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = argparse.ArgumentParser(add_help=False)
    report.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="PATH",
        help="the parity report (default: $PARITY_REPORT or var/parity-report.json)",
    )
    term = argparse.ArgumentParser(add_help=False)
    term.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto: only on a terminal, and never when NO_COLOR is set",
    )
    width = argparse.ArgumentParser(add_help=False)
    width.add_argument("--width", type=int, default=None, help="columns (default: the terminal's)")

    commands.add_parser(
        "list",
        parents=[report, term, width],
        help="every behaviour: purpose, seed, status per target",
    ).set_defaults(handler=cmd_list)
    show = commands.add_parser(
        "show",
        parents=[term, width],
        help="a behaviour's aiohttp and Django code side by side (stacked under 163 columns)",
    )
    show.add_argument(
        "behaviour",
        help="a behaviour id from the spec (shared/spec/behaviours/*.toml), e.g. ws-echo",
    )
    show.set_defaults(handler=cmd_show)
    table = commands.add_parser(
        "matrix",
        parents=[report, term, width],
        help="behaviours by targets, from the last parity run (exit 1 if any fails)",
    )
    table.add_argument("--run", action="store_true", help="run the parity suite first")
    table.add_argument(
        "--target",
        action="append",
        default=[],
        choices=list(load_targets()),
        help="with --run: only this target (repeatable; default: all)",
    )
    table.set_defaults(handler=cmd_matrix)
    site = commands.add_parser(
        "site",
        parents=[report],
        help="the static site: an index with the matrix, a page a behaviour",
    )
    site.add_argument(
        "--out", type=Path, default=SITE_DIR, help="output directory (default: var/site)"
    )
    site.set_defaults(handler=cmd_site)
    docs = commands.add_parser(
        "docs", help="rewrite the docs' generated blocks (tables) from the spec, registry, results"
    )
    docs.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    docs.set_defaults(handler=cmd_docs)
    bench.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UnknownBehaviour as error:
        print(f"python -m compare {args.command}: {error}", file=sys.stderr)
        return 2
    except (SourceError, ValueError) as error:
        print(f"python -m compare {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
