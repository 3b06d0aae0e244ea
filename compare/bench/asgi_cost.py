"""`python -m compare.bench.asgi_cost`: bare Django under each server and middleware set."""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compare.bench.config import BENCH_PATH
from compare.bench.load import HttpLoad, Wrk, WrkNotFound
from compare.bench.runner import now, rotate, write_json
from compare.bench.system import Pinning, Sampler, machine, signal_groups, versions
from shared.harness.targets import PROJECT_ROOT, Server, Target

DOC = PROJECT_ROOT / "docs" / "django-asgi-cost.md"
RESULTS = PROJECT_ROOT / "docs" / "bench" / "asgi-cost.json"
DOC_BEGIN, DOC_END = "<!-- asgi-cost:begin -->", "<!-- asgi-cost:end -->"

# Frames whose share of the samples says where a request's time goes (a substring of a py-spy
# frame, "function (file:line)"); a sample counts once for each marker it contains.
MARKERS = {
    "asgiref: sync_to_async / thread hops": "asgiref/sync.py",
    "concurrent.futures thread pool": "concurrent/futures/thread.py",
    "threading (thread start, locks, waits)": "threading.py",
    "Django's ASGI handler (django/core/handlers/asgi.py)": "django/core/handlers/asgi.py",
    "request body spooling (SpooledTemporaryFile)": "tempfile.py",
    "signals: request_started / request_finished": "django/dispatch/dispatcher.py",
    "close_old_connections (django/db)": "close_old_connections",
    "middleware chain and URL resolving (django/core/handlers/base.py)": "handlers/base.py",
    "URL resolver (django/urls)": "django/urls/",
    "HttpResponse / JsonResponse": "django/http/response.py",
    "logging (access log)": "logging/__init__.py",
    "the server's HTTP protocol code": "protocols/http/",
    "asyncio / uvloop event loop": "asyncio/",
}


# Top frames of a thread that waits: py-spy can count such a short-lived thread as active.
WAITING = (
    "(concurrent/futures/thread.py:89)",  # a pool thread blocked on its queue
    "(threading.py:359)",  # Condition.wait
    "(threading.py:1092)",  # Thread.join: asgiref joins each request's executor in a thread
    "(gunicorn/arbiter.py:425)",  # gunicorn's master, sleeping
)


@dataclass(frozen=True)
class Variant:
    id: str
    server: str
    path: str
    middleware: str = "none"
    signals: str = "connected"
    profile: bool = False


def load_study(path: Path = BENCH_PATH) -> tuple[dict[str, Any], dict[str, Target], list[Variant]]:
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))["asgi-cost"]
    commands = {
        name: Target(name=name, app="django", server=name, command=tuple(argv))
        for name, argv in data["commands"].items()
    }
    variants = [Variant(**entry) for entry in data["variant"]]
    for variant in variants:
        if variant.server not in commands:
            raise ValueError(
                f"{path}: asgi-cost variant {variant.id!r}: no command {variant.server!r}"
            )
    return data, commands, variants


def profile(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    """py-spy samples every thread of `pid` for `seconds`: the summary of its collapsed stacks."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out.with_suffix(".txt")
    argv = [spy, "record", "--pid", str(pid), "--duration", f"{max(1, round(seconds))}",
            "--rate", "250", "--threads", "--subprocesses", "--nonblocking"]  # fmt: skip
    done = subprocess.run([*argv, "--format", "raw", "-o", str(raw)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0 or not raw.exists():
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    return summarise(raw.read_text(encoding="utf-8", errors="replace"))


def summarise(collapsed: str) -> dict[str, Any]:
    """Shares of the samples: per thread, per marker, and the functions most often on top.
    A sample whose top frame waits (a pool thread waiting for work, a join) counts as waiting:
    the markers' shares are of the other, busy samples."""
    total = waiting = 0
    threads: collections.Counter[str] = collections.Counter()
    markers: collections.Counter[str] = collections.Counter()
    tops: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        if frames[0].startswith("process") and len(frames) > 1 and frames[1].startswith("thread"):
            thread = frames[1]
        threads[" ".join(thread.split()[:2])] += count  # every thread seen, waiting or not
        if frames[-1].endswith(WAITING):
            waiting += count
            continue
        for name, needle in MARKERS.items():
            if needle in stack:
                markers[name] += count
        tops[frames[-1]] += count
    if not total:
        return {"samples": 0}
    busy = total - waiting
    share = {name: round(100 * n / busy, 1) for name, n in markers.most_common()} if busy else {}
    return {
        "samples": total,
        "waiting_pct": round(100 * waiting / total, 1),
        "threads": len(threads),
        "samples_by_thread_pct": {t: round(100 * n / total, 1) for t, n in threads.most_common(6)},
        "marker_pct": share,
        "top_frames_pct": {f: round(100 * n / busy, 1) for f, n in tops.most_common(15)}
        if busy
        else {},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compare.bench.asgi_cost", description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "var" / "bench" / "asgi-cost.json"
    )
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", action="append", default=[], help="variants whose id has this")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--profiles-only",
        action="store_true",
        help="only the py-spy profiles, merged into --out (an earlier run's results)",
    )
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    study, commands, variants = load_study()
    if args.only:
        variants = [v for v in variants if any(text in v.id for text in args.only)]
    if args.profiles_only:
        variants = [v for v in variants if v.profile]
    duration = args.duration or float(study["duration"])
    rounds = args.rounds or int(study["rounds"])
    connections = int(study["connections"])
    warmup = float(study["warmup"])
    try:
        generator = Wrk()
    except WrkNotFound as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    pinning = Pinning.plan(1)
    print(f"{len(variants)} variants x {rounds} rounds, {connections} connections,"
          f" {duration:g} s each; {pinning.note}; {generator.describe()}",
          file=sys.stderr)  # fmt: skip
    started, before = now(), machine()
    servers: dict[str, Server] = {}
    measurements: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="asgi-cost-") as workdir:
        try:
            for variant in variants:
                env = {
                    "BENCH_DJANGO_MIDDLEWARE": variant.middleware,
                    "BENCH_DJANGO_SIGNALS": variant.signals,
                }
                server = Server(commands[variant.server], env=env,
                                log_path=Path(workdir) / f"{len(servers)}.log")  # fmt: skip
                with pinning.on(pinning.server):
                    server.start(timeout=60)
                assert server.process is not None
                signal_groups([server.process.pid], signal.SIGSTOP)
                servers[variant.id] = server
            for r in range(rounds):
                for variant in rotate(variants, r):
                    server = servers[variant.id]
                    assert server.process is not None
                    pid = server.process.pid
                    signal_groups([pid], signal.SIGCONT)
                    try:
                        load = HttpLoad.of("GET", variant.path)
                        generator.run(server.base_url, load, connections, warmup, 10)
                        if not args.profiles_only:
                            with Sampler([pid]) as usage:
                                result = generator.run(
                                    server.base_url, load, connections, duration, 10
                                )
                        if variant.profile and not args.no_profile and r == 0:
                            spy = Path(workdir) / f"profile-{len(profiles)}"
                            running = subprocess.Popen(
                                [*generator_argv(generator, server.base_url, load, connections,
                                                 duration + 2)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            )  # fmt: skip
                            time.sleep(0.5)
                            profiles[variant.id] = profile(pid, duration, spy)
                            running.wait(timeout=duration + 30)
                    finally:
                        signal_groups([pid], signal.SIGSTOP)
                    if args.profiles_only:
                        continue
                    record = {
                        "variant": variant.id,
                        "server": variant.server,
                        "path": variant.path,
                        "middleware": variant.middleware,
                        "signals": variant.signals,
                        "round": r + 1,
                        "rps": round(result.rps, 1),
                        "latency_ms": {k: round(v, 2) for k, v in result.latency_ms.items()},
                        "errors": result.errors,
                        "server_cpu_pct": round(100 * usage.cpu_seconds / result.seconds, 1),
                        "peak_rss_mib": round(usage.peak_rss_bytes / 2**20, 1),
                    }
                    measurements.append(record)
                    print(f"round {r + 1}/{rounds}  {variant.id:<50} {result.rps:>8,.0f} req/s"
                          f"  p99 {result.latency_ms['p99']:.1f} ms  errors {result.error_count}"
                          f"  CPU {record['server_cpu_pct']}%",
                          file=sys.stderr, flush=True)  # fmt: skip
        finally:
            for server in servers.values():
                if server.process is not None:
                    signal_groups([server.process.pid], signal.SIGCONT)
                server.stop()
    if args.profiles_only:
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        earlier["profiles"] = profiles
        earlier["profiled"] = {"started": started, "load_average": before["load_average"]}
        write_json(earlier, args.out)
        print(json.dumps(profiles, indent=1))
        return 0
    results = {
        "schema": 1,
        "started": started,
        "finished": now(),
        "note": args.note,
        "machine": {**before, "load_average_after": machine()["load_average"]},
        "versions": versions(),
        "settings": {
            "connections": connections,
            "duration_s": duration,
            "warmup_s": warmup,
            "rounds": rounds,
            "generator": generator.describe(),
            "pinning": pinning.note,
            "commands": {name: list(t.command) for name, t in commands.items()},
        },
        "summary": summary(measurements, variants),
        "measurements": measurements,
        "profiles": profiles,
    }
    write_json(results, args.out)
    print(table(results["summary"]))
    return 0


def generator_argv(
    generator: Wrk, base_url: str, load: HttpLoad, connections: int, seconds: float
) -> list[str]:
    """A load that runs in the background while py-spy samples."""
    return [generator.executable, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            base_url + load.path]  # fmt: skip


def summary(
    measurements: Sequence[Mapping[str, Any]], variants: Sequence[Variant]
) -> list[dict[str, Any]]:
    """Median req/s per variant, its spread, and its ratio to the first variant in each round."""
    reference = variants[0].id
    by_round = {(m["variant"], m["round"]): m["rps"] for m in measurements}
    rows = []
    for variant in variants:
        mine = [m for m in measurements if m["variant"] == variant.id]
        if not mine:
            continue
        rates = [m["rps"] for m in mine]
        ratios = [
            m["rps"] / by_round[(reference, m["round"])]
            for m in mine
            if by_round.get((reference, m["round"]))
        ]
        rows.append({
            "variant": variant.id,
            "rps_median": round(statistics.median(rates), 1),
            "rps_min": min(rates),
            "rps_max": max(rates),
            "ratio_to_first": round(statistics.median(ratios), 2) if ratios else None,
            "p99_ms_median": round(statistics.median(m["latency_ms"]["p99"] for m in mine), 1),
            "server_cpu_pct_median": round(statistics.median(m["server_cpu_pct"] for m in mine), 1),
            "errors": sum(sum(m["errors"].values()) for m in mine),
        })  # fmt: skip
    return rows


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| variant | req/s (median, min–max) | × first | p99 ms | server CPU % | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['rps_median']:,.0f} ({row['rps_min']:,.0f}–"
            f"{row['rps_max']:,.0f}) | {row['ratio_to_first']:.2f} | {row['p99_ms_median']:,.0f}"
            f" | {row['server_cpu_pct_median']:.0f} | {row['errors']} |"
        )
    return "\n".join(lines)


def doc_block(results: Mapping[str, Any]) -> str:
    """The table of docs/django-asgi-cost.md (between its markers), from a results JSON."""
    machine = results["machine"]
    load = machine["load_average"]
    after = machine.get("load_average_after")
    return "\n\n".join([
        DOC_BEGIN,
        f"From `docs/bench/asgi-cost.json` ({results['started']}); load average"
        f" {load[0]:.2f} at the start" + (f", {after[0]:.2f} at the end" if after else "") + ".",
        table(results["summary"]),
        DOC_END,
    ])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
