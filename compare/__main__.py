"""`python -m compare list|show|try|matrix|site|docs|bench`: code side by side, answers, status,
docs, speed."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from compare import UnknownBehaviour, find_behaviour
from compare import docs as generated
from compare.bench import cli as bench
from compare.bench.report import DisturbedRun
from compare.play import MAKE_RUN_URLS, NotRunning, play_case
from compare.report import default_report_path, load, matrix
from compare.site import build
from compare.source import APP_TITLES, SourceError, implementations
from compare.terminal import (
    Painter,
    Pane,
    render_list,
    render_matrix,
    render_show,
    render_try,
    use_color,
)
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


def target_url(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or name not in load_targets() or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(
            f"expected NAME=http://HOST:PORT, NAME one of {', '.join(load_targets())}; got {text!r}"
        )
    return name, url.rstrip("/")


def cmd_try(args: argparse.Namespace) -> int:
    the_spec = spec()
    behaviour = find_behaviour(the_spec, args.behaviour)
    total = len(behaviour.cases)
    if bad := [n for n in args.case if not 1 <= n <= total]:
        raise ValueError(f"{behaviour.id} has cases 1 to {total}, not {bad[0]}")
    urls = dict(args.target_url) or MAKE_RUN_URLS
    width = terminal_width(args.width)
    forbidden: list[str] = []
    for number in args.case or range(1, total + 1):
        try:
            answers = asyncio.run(play_case(the_spec, behaviour, number - 1, urls))
        except NotRunning as error:
            print(f"python -m compare try: {error}", file=sys.stderr)
            print(
                "  Start the servers with `make run` (aiohttp on :8081, Django on :8082), or"
                " name running ones: --target-url NAME=URL",
                file=sys.stderr,
            )
            return 2
        sys.stdout.write(render_try(behaviour, number - 1, the_spec, answers, width, painter(args)))
        print(flush=True)
        forbidden += [f"{behaviour.id}-{number} on {a.target}" for a in answers if a.forbidden]
    if forbidden:
        print(f"Fails the spec where no difference is declared: {', '.join(forbidden)}")
        return 1
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
    try:
        changed = generated.write_all()
    except DisturbedRun as error:
        print(f"python -m compare docs: {error}", file=sys.stderr)
        return 1
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
    trying = commands.add_parser(
        "try",
        parents=[term, width],
        help="play a behaviour's cases on running servers (`make run`'s by default) and show"
        " both answers side by side (exit 1 where one fails the spec undeclared)",
    )
    trying.add_argument("behaviour", help="a behaviour id from the spec, e.g. ws-echo")
    trying.add_argument(
        "--case",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="only case N, as numbered by `show` (repeatable; default: every case)",
    )
    trying.add_argument(
        "--target-url",
        type=target_url,
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a running server and the target it is, e.g. aiohttp=http://127.0.0.1:8081"
        " (repeatable; default: "
        + " ".join(f"{name}={url}" for name, url in MAKE_RUN_URLS.items())
        + ")",
    )
    trying.set_defaults(handler=cmd_try)
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
