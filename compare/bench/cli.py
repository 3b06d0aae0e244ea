"""The `bench` subcommand of `python -m compare`: its options, and what it writes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from compare.bench import config as bench_config
from compare.bench import history, parts
from compare.bench import report as bench_report
from shared.harness.serve import stop_on_sigterm
from shared.harness.targets import PROJECT_ROOT, load_targets
from shared.spec import spec

OUT_DIR = PROJECT_ROOT / "var" / "bench"
COMMITTED = PROJECT_ROOT / "docs" / "bench" / "results.json"


def add_parser(commands: Any) -> None:
    defaults = bench_config.Settings()
    bench = commands.add_parser(
        "bench",
        help="measure every behaviour on every target and baseline (see compare/bench/bench.toml)",
        description="Start each target from shared/harness/targets.toml and each baseline from"
        " compare/bench/bench.toml, pin servers and load to different CPUs, check each main case"
        " against the spec, then measure round by round. Defaults come from bench.toml.",
    )
    bench.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="ID",
        help="only this behaviour's main case and scenarios (repeatable)",
    )
    bench.add_argument(
        "--scenario",
        action="append",
        default=None,
        metavar="ID",
        help="only these scenarios, or scaling items such as json-2-workers (repeatable;"
        " default: the behaviours' own, and the scaling pass's)",
    )
    bench.add_argument("--no-scenarios", action="store_true", help="main cases only")
    bench.add_argument(
        "--part",
        default=None,
        metavar="NAME",
        help="a part of the bench (bench.toml's [parts]), a run of its own: its measurements"
        " replace the part's in --out's results.json, and the other parts' stay (make bench"
        " PART=NAME)",
    )
    bench.add_argument(
        "--plan",
        action="store_true",
        help="run nothing: what the run would measure, on how many servers, and how long it"
        " would take from the settings; alone, each part's time and the whole bench's",
    )
    bench.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="a target, baseline or peer (repeatable; default: all)",
    )
    bench.add_argument(
        "--deployment",
        action="append",
        type=deployment,
        default=[],
        metavar="NAME=URL",
        help="a running deployment to measure at URL, neither started nor stopped (the compose"
        " stack's nginx: docs/django-asgi-cost.md); NAME begins with its app (django-split);"
        " each after the first is compared with the first. Only deployments are measured,"
        " and the targets --target names; nothing is pinned (repeatable)",
    )
    bench.add_argument(
        "--deployment-pids",
        action="append",
        type=deployment_pids,
        default=[],
        metavar="NAME=PID,...",
        help="the processes that serve deployment NAME (a container's: docker inspect --format"
        " '{{.State.Pid}}'), whose trees' CPU and RSS the bench reads, and never signals; with"
        " them, its CPU a request (repeatable)",
    )
    bench.add_argument(
        "--peers",
        type=Path,
        default=os.environ.get("TECHEMPOWER_DIR") or None,
        metavar="DIR",
        help="a checkout of TechEmpower's FrameworkBenchmarks, whose implementations are the"
        " peers (default: $TECHEMPOWER_DIR; without one they are reported unavailable)",
    )
    bench.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help=f"seconds measured each time (default {defaults.duration:g})",
    )
    bench.add_argument("--warmup", type=float, default=None, metavar="S")
    bench.add_argument("--rounds", type=int, default=None, metavar="N")
    bench.add_argument("--connections", type=int, default=None, metavar="C")
    bench.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="server processes of every target and baseline (default 1)",
    )
    bench.add_argument("--timeout", type=float, default=None, metavar="S")
    bench.add_argument(
        "--tries",
        type=int,
        default=None,
        metavar="N",
        help=f"tries of a disturbed measurement (default {defaults.tries})",
    )
    bench.add_argument(
        "--idle-limit",
        type=float,
        default=None,
        metavar="S",
        help=f"longest wait for an idle machine before each try (default {defaults.idle_limit:g})",
    )
    bench.add_argument(
        "--wrk",
        default="wrk",
        metavar="PATH",
        help="the wrk that sends the HTTP load (default: wrk on PATH; apt-get install wrk)",
    )
    bench.add_argument("--no-pin", action="store_true", help="do not pin servers and load")
    bench.add_argument(
        "--note", default="", help="a note kept in the results (the machine's state)"
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=OUT_DIR,
        metavar="DIR",
        help="results.json, summary.md and plots/ (default var/bench)",
    )
    bench.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="no run: write the table, Markdown and plots of this results JSON",
    )
    bench.set_defaults(handler=cmd_bench)  # fmt: skip


def deployment(text: str) -> tuple[str, str]:
    """--deployment's NAME=URL."""
    name, _, url = text.partition("=")
    if not name or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected NAME=http://HOST:PORT, got {text!r}")
    return name, url


def deployment_pids(text: str) -> tuple[str, tuple[int, ...]]:
    """--deployment-pids's NAME=PID,PID."""
    name, _, pids = text.partition("=")
    try:
        return name, tuple(int(pid) for pid in pids.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=PID[,PID...], got {text!r}") from None


def settings(args: argparse.Namespace, base: bench_config.Settings) -> bench_config.Settings:
    return bench_config.Settings(
        duration=args.duration if args.duration is not None else base.duration,
        warmup=args.warmup if args.warmup is not None else base.warmup,
        rounds=args.rounds if args.rounds is not None else base.rounds,
        connections=args.connections if args.connections is not None else base.connections,
        workers=args.workers if args.workers is not None else base.workers,
        timeout=args.timeout if args.timeout is not None else base.timeout,
        idle_pct=base.idle_pct,
        idle_limit=args.idle_limit if args.idle_limit is not None else base.idle_limit,
        max_others_pct=base.max_others_pct,
        tries=args.tries if args.tries is not None else base.tries,
    )


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    from compare.bench import plots  # matplotlib: only when there is something to plot
    from compare.bench.runner import write_json

    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    if not json_path.exists() or bench_report.load(json_path) != results:
        write_json(results, json_path)
    summary = out / "summary.md"
    summary.write_text(bench_report.markdown(results), encoding="utf-8")
    return [json_path, summary, *plots.write(results, out)]


def destination(results: dict[str, Any], out: Path) -> tuple[Path, str | None]:
    """Where the outputs go: `out`, but var/bench for a disturbed run meant for docs/ (its
    quietness record), with the reason; `make bench` then stops before it rewrites the docs."""
    if out.resolve() == COMMITTED.parent.resolve():
        if reason := bench_report.disturbed(results):
            return OUT_DIR, f"a disturbed run writes no numbers into docs/: {reason}"
    return out, None


def relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def cmd_bench(args: argparse.Namespace) -> int:
    # Here, not at the top: `python -m compare list|show|site` need none of the load machinery.
    from compare.bench.load import Wrk, WrkNotFound
    from compare.bench.runner import Options, execute

    if args.plan:
        return cmd_plan(args)
    merge = None
    if args.render is not None:
        results = bench_report.load(args.render)
    else:
        try:
            generator = Wrk(args.wrk)
        except WrkNotFound as error:
            print(f"python -m compare bench: {error}", file=sys.stderr)
            return 2
        the_spec = spec()
        config = bench_config.load(the_spec)
        try:
            part = chosen_part(args, config)
        except ValueError as error:
            print(f"python -m compare bench: {error}", file=sys.stderr)
            return 2
        scenarios = () if args.no_scenarios else args.scenario
        options = Options(
            settings=settings(args, config.settings),
            behaviours=tuple(args.behaviour),
            scenarios=tuple(scenarios) if scenarios is not None else None,
            targets=tuple(args.target),
            peers=args.peers.resolve() if args.peers is not None else None,
            pin=not args.no_pin,
            note=args.note,
            deployments=tuple(args.deployment),
            deployment_pids=dict(args.deployment_pids),
            part=part,
        )
        merge = list(config.parts) if part is not None else None

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        # The runner pauses the servers it is not measuring (SIGSTOP): stopped by SIGTERM, it
        # resumes and stops them as on Ctrl-C, rather than leave them paused.
        signal.signal(signal.SIGTERM, stop_on_sigterm)
        try:
            results = execute(config, the_spec, load_targets(), options, generator, progress)
        except KeyboardInterrupt:
            print("python -m compare bench: interrupted; every server is stopped", file=sys.stderr)
            return 130
    out, refused = destination(results, args.out)
    at = history.commit() if args.render is None else None
    merged = results
    if merge is not None and not refused:  # a part: into the results of the other parts
        previous = out / "results.json"
        earlier = bench_report.load(previous) if previous.exists() else None
        merged = parts.merge(earlier, results, at, merge)
    written = write_outputs(merged, out)
    if args.render is None:  # a run, kept in the history of where it was meant to go
        record = history.entry(results, relative(out / "results.json"), at)
        print(f"kept in {relative(history.write(record, args.out / 'history'))}")
    sys.stdout.write("\n" + bench_report.terminal(results))
    if merged is not results:
        print("\nmerged, a run a part:\n" + "\n".join(
            f"- {parts.title(run).replace('`', '')}" for run in parts.runs(merged)
        ))  # fmt: skip
    print(f"\nwrote {relative(written[0])}, {relative(written[1])} and {len(written) - 2} plots"
          f" in {relative(out / 'plots')}")  # fmt: skip
    if refused:
        print(f"python -m compare bench: not written into {relative(args.out)}, for {refused}",
              file=sys.stderr)  # fmt: skip
        return 1
    # A measurement that failed is a result too (its reason is in the footnotes): a run that
    # completed exits 0, so that `make bench` goes on to render the docs from it.
    if failed := sum(m["status"] == "failed" for m in results["measurements"]):
        print(f"{failed} measurement(s) failed: see the footnotes above")
    return 0


def chosen_part(
    args: argparse.Namespace, config: bench_config.BenchConfig
) -> bench_config.Part | None:
    """--part's part of bench.toml; it says what is measured, so no --behaviour nor --scenario."""
    if args.part is None:
        return None
    if args.part not in config.parts:
        raise ValueError(
            f"no part {args.part!r} in bench.toml; its parts: {', '.join(config.parts)}"
        )
    if args.behaviour or args.scenario is not None or args.no_scenarios:
        raise ValueError(
            "--part names what is measured: no --behaviour, --scenario or --no-scenarios"
        )
    return config.parts[args.part]


def cmd_plan(args: argparse.Namespace) -> int:
    """--plan: the run's estimate; without --part, --behaviour or --scenario, every part's."""
    from compare.bench import plan
    from compare.bench.runner import Options

    the_spec = spec()
    config = bench_config.load(the_spec)
    targets = load_targets()
    try:
        part = chosen_part(args, config)
    except ValueError as error:
        print(f"python -m compare bench: {error}", file=sys.stderr)
        return 2
    peers = args.peers.resolve() if args.peers is not None else None
    base = Options(settings=settings(args, config.settings), targets=tuple(args.target),
                   peers=peers)  # fmt: skip
    if part is not None:
        found = plan.estimate(config, the_spec, targets, replace(base, part=part))
        sys.stdout.write(found.text(f"part {part.name} ({part.about})"))
        return 0
    if args.behaviour or args.scenario is not None or args.no_scenarios:
        scenarios = () if args.no_scenarios else args.scenario
        chosen = replace(base, behaviours=tuple(args.behaviour),
                         scenarios=tuple(scenarios) if scenarios is not None else None)  # fmt: skip
        sys.stdout.write(plan.estimate(config, the_spec, targets, chosen).text("the run"))
        return 0
    plans = [
        (name, plan.estimate(config, the_spec, targets, replace(base, part=p)))
        for name, p in config.parts.items()
    ]
    whole = plan.estimate(config, the_spec, targets, base)
    sys.stdout.write(
        "The parts (make bench PART=NAME; python -m compare bench --part NAME --plan: what each"
        " measures):\n"
        + plan.summary(plans)
        + f"The whole bench in one run (make bench): about {plan.minutes(whole.seconds)}\n"
    )
    for line in whole.skipped():
        print(f"Not started, not counted: {line}")
    return 0
