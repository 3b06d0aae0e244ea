"""`python -m compare.bench.asgi_cost`: bare Django under each server and middleware set."""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
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
PROFILE_HZ = 250  # py-spy's sampling rate

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
            "--rate", str(PROFILE_HZ), "--threads", "--subprocesses", "--nonblocking"]  # fmt: skip
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


# The prose of docs/django-asgi-cost.md: each figure it cites, computed from a results JSON.
# The variants it names, as `[asgi-cost]` in bench.toml calls them.
FIRST = "uvicorn, async view"
NO_ACCESS_LOG = "uvicorn without access log, async view"
NO_SIGNALS = "uvicorn, async view, database request signals disconnected"
SYNC_VIEW = "uvicorn, sync view"
ASYNC_MIDDLEWARE = "uvicorn, async view, one async middleware"
SYNC_MIDDLEWARE = "uvicorn, async view, one sync middleware"
SUITE_MIDDLEWARE = "uvicorn, async view, the suite's middleware"
STARTPROJECT = "uvicorn, async view, startproject's middleware"
ASGI_SERVERS = {
    "uvicorn": FIRST,
    "daphne": "daphne, async view",
    "hypercorn": "hypercorn, async view",
    "granian": "granian ASGI, async view",
}
GUNICORN_SYNC = "gunicorn sync worker (WSGI), sync view"
GUNICORN_ASYNC = "gunicorn sync worker (WSGI), async view"
GRANIAN_WSGI = "granian WSGI, sync view"
WSGI_SERVERS = ("gunicorn-sync", "granian-wsgi")
SERVER_NOTES = {"granian": ", whose HTTP is Rust"}
FRAME_NOTES = {
    "Runner.run": " (the loop)",
    "close_graceful": " (gunicorn waits for the client to close: no keep-alive)",
}
FRAME_OWNERS = ("uvicorn", "daphne", "hypercorn", "granian", "logging")
THREAD_FRAMES = ("Thread.start", "ThreadPoolExecutor.", "Condition.")
DJANGO_MARKERS = (
    "signals: request_started / request_finished",
    "middleware chain and URL resolving (django/core/handlers/base.py)",
    "URL resolver (django/urls)",
    "HttpResponse / JsonResponse",
)
ASGIREF = "asgiref: sync_to_async / thread hops"
SIGNALS = "signals: request_started / request_finished"
NO_PYTHON_FRAME = "no Python frame"
Results = Mapping[str, Any]
WIDTH = 100  # the doc's lines
NBSP = "\N{NO-BREAK SPACE}"  # holds a code span together while wrapping
BLOCK_START = re.compile(r"([-*+>#|=<]|\d+[.)]|```|~~~)(\s|$)")


def wrap(paragraph: str) -> str:
    """A paragraph or list item wrapped at the doc's width, unless a line would start a block."""
    marker = re.match(r"- |\d+\. ", paragraph)
    indent = " " * len(marker.group()) if marker else ""
    unbroken = re.sub(r"`[^`]*`", lambda code: code.group().replace(" ", NBSP), paragraph)
    lines = textwrap.wrap(unbroken, WIDTH, subsequent_indent=indent, break_long_words=False,
                          break_on_hyphens=False)  # fmt: skip
    if any(BLOCK_START.match(line.lstrip()) for line in lines[1:]):
        return paragraph
    return "\n".join(lines).replace(NBSP, " ")


def named(variant: str) -> str:
    """A variant's name in a sentence, set apart from the commas around it."""
    return f"*{variant}*"


def row(results: Results, variant: str) -> Mapping[str, Any]:
    """The summary row of `variant`; a LookupError naming the variants there if it has none."""
    rows: dict[str, Mapping[str, Any]] = {r["variant"]: r for r in results["summary"]}
    if variant not in rows:
        raise LookupError(f"asgi-cost results: no variant {variant!r} in summary; has {list(rows)}")
    return rows[variant]


def ratio(results: Results, variant: str, against: str = FIRST) -> float:
    """`variant`'s req/s over `against`'s, from their per-round ratios to the first variant."""
    mine, theirs = row(results, variant)["ratio_to_first"], row(results, against)["ratio_to_first"]
    if mine is None or theirs is None:
        raise ValueError(f"asgi-cost results: no ratio for {variant!r} or {against!r}")
    return float(mine) / float(theirs)


def times(value: float) -> str:
    """A ratio as the doc writes it: `2.54×`."""
    return f"{value:.2f}×"


def span(values: Sequence[float], unit: str = "×", digits: int = 2) -> str:
    """The range of `values`: `0.86–1.19×`, `27–39%`."""
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}{unit}"


def round_ratios(results: Results, variant: str) -> list[float]:
    """`variant`'s req/s over the first variant's, round by round."""
    rates = {(m["variant"], m["round"]): m["rps"] for m in results["measurements"]}
    first = results["summary"][0]["variant"]
    return [rps / rates[(first, r)] for (v, r), rps in rates.items() if v == variant]


def noise(results: Results) -> tuple[float, float, str]:
    """How far a variant's ratio to the first moves round to round (±%): typical, largest, whose."""
    swings = {}
    for r in results["summary"][1:]:
        ratios = round_ratios(results, r["variant"])
        swings[r["variant"]] = 50 * (max(ratios) - min(ratios)) / statistics.median(ratios)
    worst = max(swings, key=swings.__getitem__)
    return statistics.median(swings.values()), swings[worst], worst


def compared(value: float, tolerance_pct: float, more: str, less: str, same: str) -> str:
    """`more`, `less` or `same`, as `value` is above 1, below it or within the tolerance of it."""
    if abs(value - 1) * 100 < tolerance_pct:
        return same
    return more if value > 1 else less


def change(value: float) -> str:
    """A ratio as what it takes off or adds: `takes 13% off`."""
    if value < 1:
        return f"takes {100 * (1 - value):.0f}% off"
    return f"adds {100 * (value - 1):.0f}%"


def milliseconds(values: Sequence[float]) -> list[str]:
    """Latencies in ms, all in seconds if one is a second or more."""
    if max(values) >= 1000:
        return [f"{v / 1000:.1f} s" for v in values]
    return [f"{v:.0f} ms" for v in values]


def server_of(results: Results, variant: str) -> str:
    """The `[asgi-cost.commands]` name that served `variant`."""
    servers = {m["variant"]: str(m["server"]) for m in results["measurements"]}
    if variant not in servers:
        raise LookupError(f"asgi-cost results: no measurement of variant {variant!r}")
    return servers[variant]


def profile_of(results: Results, variant: str) -> Mapping[str, Any]:
    """The profile of `variant`; a LookupError naming the profiled variants if it has none."""
    profiles: dict[str, Mapping[str, Any]] = results["profiles"]
    if variant not in profiles:
        raise LookupError(
            f"asgi-cost results: no profile of variant {variant!r}; has {list(profiles)}"
        )
    return profiles[variant]


def asgi_profiles(results: Results) -> dict[str, Mapping[str, Any]]:
    """The profiles of the variants served over ASGI."""
    profiles = results["profiles"]
    return {v: p for v, p in profiles.items() if server_of(results, v) not in WSGI_SERVERS}


def setup_block(results: Results) -> str:
    """The "How it was measured" paragraph: settings, machine and versions of the run."""
    settings, machine, found = results["settings"], results["machine"], results["versions"]
    packages = found["packages"]
    names = ("Django", "asgiref", "uvicorn", "daphne", "hypercorn", "granian", "gunicorn")
    return wrap(
        "**How it was measured.** `make asgi-cost` (`python -m compare.bench.asgi_cost`) serves"
        " the bare Django project of `compare/bench/baselines/django_hello/` (no apps, no"
        " database, `DEBUG = False`) in each variant listed under `[asgi-cost]` in"
        " `compare/bench/bench.toml`: a server, a middleware set (`BENCH_DJANGO_MIDDLEWARE`), an"
        " async view (`/json`) or a sync one (`/json-sync`). Every server runs one process pinned"
        f" to CPU 0; `wrk` (one thread, {settings['connections']} connections) runs on CPU 1;"
        f" each variant gets {settings['warmup_s']:g} s of warm-up and"
        f" {settings['duration_s']:g} s of measurement, in {settings['rounds']} rounds whose"
        " order rotates. Every number below comes from"
        f" [`docs/bench/asgi-cost.json`](bench/asgi-cost.json) ({results['started'][:10]},"
        f" {machine['cpu_model']}, {machine['cores']} cores, Python {found['python']}, "
        + ", ".join(f"{name} {packages[name]}" for name in names)
        + ")."
    )


def noise_block(results: Results) -> str:
    """The "Noise" paragraph: the machine's load, the issue's gap, the spread of the figures."""
    machine = results["machine"]
    before, after = machine["load_average"][0], machine.get("load_average_after", [None])[0]
    idle = before < machine["cores"]
    load = f"load average {before:.1f} at the start"
    if after is not None and after > before:
        threads = [p["threads"] for p in asgi_profiles(results).values()]
        load += (
            f"; the {after:.0f} at the end counts the short-lived threads of the ASGI variants"
            f" themselves, {span(threads, '', 0)} in {results['settings']['duration_s']:g} s"
            " in the profiles below"
        )
    typical, worst, whose = noise(results)
    uvicorn, gunicorn = row(results, FIRST), row(results, GUNICORN_SYNC)
    gap = compared(
        gunicorn["rps_median"] / uvicorn["rps_median"],
        typical,
        "shows the gap issue 7 reported",
        "shows the opposite of the gap issue 7 reported",
        "does not show the gap issue 7 reported",
    )
    spreads = {
        r["variant"]: 100 * max(r["rps_max"] - r["rps_median"], r["rps_median"] - r["rps_min"])
        / r["rps_median"]
        for r in results["summary"]
    }  # fmt: skip
    widest = max(spreads, key=spreads.__getitem__)
    wide = row(results, widest)
    return wrap(
        "**Noise.** "
        + ("The machine was otherwise idle" if idle else "The machine was busy")
        + f" ({load}). This run {gap}: {uvicorn['rps_median'] / 1000:.2f}k requests/s for the"
        f" async view under uvicorn, {gunicorn['rps_median'] / 1000:.2f}k for the sync view"
        " under gunicorn's sync worker. The min–max spread of a variant is within"
        f" {spreads[widest]:.0f}% of its median (the widest, {named(widest)}:"
        f" {wide['rps_min']:,.0f}–{wide['rps_max']:,.0f} around {wide['rps_median']:,.0f});"
        " ratios are taken against the first variant within each round, which cancels part of"
        f" the drift, yet a variant's ratio still moves by about ±{typical:.0f}% from round to"
        f" round (the median over the variants; ±{worst:.0f}% for {named(whose)}), so a difference"
        f" under about {typical:.0f}% between two variants is noise."
    )


def findings_block(results: Results) -> str:
    """The "What stands out" bullets, each with its ratios and its claim computed."""
    typical = noise(results)[0]
    servers = {name: ratio(results, variant) for name, variant in ASGI_SERVERS.items()}
    fastest, slowest = max(servers, key=servers.__getitem__), min(servers, key=servers.__getitem__)
    spread = servers[fastest] / servers[slowest]
    wsgi = {"gunicorn": ratio(results, GUNICORN_SYNC), "granian": ratio(results, GRANIAN_WSGI)}
    main_cost = spread < min(wsgi.values())
    sync_view = ratio(results, SYNC_VIEW)
    async_view = compared(1 / sync_view, typical, "faster than", "slower than", "no faster than")
    under_wsgi = ratio(results, GUNICORN_ASYNC, GUNICORN_SYNC)
    wsgi_async = ratio(results, GUNICORN_ASYNC)
    if wsgi_async > max(1.0, sync_view) * (1 + typical / 100):
        still = "still more than either under uvicorn"
    elif wsgi_async < min(1.0, sync_view) * (1 - typical / 100):
        still = "less than either under uvicorn"
    else:
        still = "about as much as under uvicorn"
    one_sync, listed = ratio(results, SYNC_MIDDLEWARE), ratio(results, STARTPROJECT)
    costs = max(one_sync, listed) < 1 - typical / 100
    return "\n".join(map(wrap, [
        "- **The ASGI server is "
        + ("not the main cost.**" if main_cost else "as large a cost as WSGI's gain.**")
        + " uvicorn, daphne, hypercorn and granian's ASGI mode serve"
        f" {span(list(servers.values()))} what uvicorn does (the fastest, {fastest}"
        f"{SERVER_NOTES.get(fastest, '')}, serves {times(spread)} what the slowest, {slowest},"
        " does)"
        + (": the larger cost is in what Django does per request under ASGI." if main_cost
           else "."),
        "- **The same sync view under a WSGI server serves"
        f" {times(wsgi['gunicorn'])} (gunicorn) and {times(wsgi['granian'])} (granian)** the"
        " requests/s of the async view under uvicorn. gunicorn's sync worker does not even keep"
        " connections alive (each request pays a TCP connect and accept); granian's WSGI mode"
        " does, and parses HTTP in Rust.",
        f"- **An async view is {async_view} a sync one under ASGI** (the sync view serves"
        f" {times(sync_view)} as much). Under WSGI an async view serves {times(under_wsgi)}"
        f" what the sync view does ({times(wsgi_async)} against {times(wsgi['gunicorn'])}:"
        " `async_to_sync` starts an event loop in a thread for each request), and"
        f" {still}.",
        "- **" + ("Every synchronous middleware costs" if costs else "Synchronous middleware")
        + f"**: one pass-through sync middleware {change(one_sync)} (one async one:"
        f" {times(ratio(results, ASYNC_MIDDLEWARE))}); Django's own `startproject` list"
        f" {change(listed)}, although all seven of those middlewares are \"async capable\""
        " (below).",
    ]))  # fmt: skip


def frames(profile: Mapping[str, Any]) -> dict[str, float]:
    """A profile's top frames by function (its lines summed), largest first."""
    shares: collections.Counter[str] = collections.Counter()
    for frame, pct in profile.get("top_frames_pct", {}).items():
        if frame.startswith(("thread (", "process ")):
            shares[NO_PYTHON_FRAME] += pct
            continue
        function, _, where = frame.partition(" (")
        owner = where.split("/")[0]
        label = f"{owner}'s `{function}`" if owner in FRAME_OWNERS else f"`{function}`"
        shares[label + FRAME_NOTES.get(function, "")] += pct
    return dict(shares.most_common())


def profiles_block(results: Results) -> str:
    """The "What py-spy shows" paragraph and its table, from the results' profiles."""
    seconds = results["settings"]["duration_s"]
    earlier = results.get("profiled")
    when = (
        f"a later `--profiles-only` run, {earlier['started']}, load average"
        f" {earlier['load_average'][0]:.1f}" if earlier else "the same run as the table above"
    )  # fmt: skip
    rows = []
    for variant, profile in results["profiles"].items():
        markers = profile.get("marker_pct", {})
        top = ", ".join(f"{label} {pct:.0f}%" for label, pct in list(frames(profile).items())[:5])
        rows.append(
            f"| {variant} | {profile['threads']} | {profile['waiting_pct']:.0f}%"
            f" | {markers.get(ASGIREF, 0):.0f}% | {markers.get(SIGNALS, 0):.0f}% | {top} |"
        )
    return "\n".join([
        wrap("**What py-spy shows.** `asgi_cost` samples the server with `py-spy record --threads"
        f" --subprocesses` ({PROFILE_HZ} Hz, {seconds:g} s, while `wrk` keeps the same"
        f" {results['settings']['connections']} connections busy) and keeps a summary per"
        f" variant under `profiles` in the JSON ({when}); the shares of a frame are of the busy"
        " samples, those whose thread is not waiting:"),
        "",
        f"| variant | distinct threads seen in {seconds:g} s | samples of a thread waiting"
        " | `asgiref/sync.py` on the stack | signals on the stack"
        " | top busy frames (share of busy samples) |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ])  # fmt: skip


def threads_block(results: Results) -> str:
    """The paragraph that reads the profiles: threads, waits, thread hops against Django's code."""
    asgi = asgi_profiles(results)
    seconds = results["settings"]["duration_s"]
    threads = [p["threads"] for p in asgi.values()]
    waiting = [p["waiting_pct"] for p in asgi.values()]
    hops = {v: p["marker_pct"].get(ASGIREF, 0.0) for v, p in asgi.items()}
    fewest, most = min(hops, key=hops.__getitem__), max(hops, key=hops.__getitem__)
    handoffs = {v: sum(pct for label, pct in frames(p).items()
                       if label.strip("`").startswith(THREAD_FRAMES))
                for v, p in asgi.items()}  # fmt: skip
    django = {
        v: p["marker_pct"].get("URL resolver (django/urls)", 0.0)
        + p["marker_pct"].get("HttpResponse / JsonResponse", 0.0)
        for v, p in asgi.items()
    }
    larger = sum(handoffs[v] > django[v] for v in asgi)
    where = "in every ASGI profile" if larger == len(asgi) else f"in {larger} of {len(asgi)}"
    connected, disconnected = profile_of(results, FIRST), profile_of(results, NO_SIGNALS)
    before, after = (p["marker_pct"].get(SIGNALS, 0.0) for p in (connected, disconnected))
    wsgi = profile_of(results, GUNICORN_SYNC)
    own = [wsgi["marker_pct"].get(marker, 0.0) for marker in DJANGO_MARKERS]
    small = max(
        p.get("marker_pct", {}).get(marker, 0.0)
        for p in results["profiles"].values()
        for marker in ("request body spooling (SpooledTemporaryFile)",
                       "close_old_connections (django/db)")
    )  # fmt: skip
    keeps = disconnected["threads"] >= connected["threads"] / 2
    return wrap(
        f"{span(threads, '', 0)} distinct threads in {seconds:g} s for a server that never runs"
        " anything in a thread on purpose is the per-request executor and its joiner, as read"
        f" in the code. {span(waiting, '%', 0)} of the samples are of those threads waiting (a"
        " pool thread blocked on its queue, a joiner in `Thread.join`); `asgiref/sync.py` is on"
        f" the stack in {hops[fewest]:.0f}% ({named(fewest)}) to {hops[most]:.0f}%"
        f" ({named(most)}) of the"
        " busy samples, and thread creation and hand-offs (`Thread.start`,"
        " `ThreadPoolExecutor.__init__`, `submit` and `shutdown`, `Condition`) are on top in"
        f" {span(list(handoffs.values()), '%', 0)} of them, more than Django's URL resolving"
        f" and `JsonResponse` together anywhere on the stack {where}"
        f" ({span(list(django.values()), '%', 0)}). Disconnecting the database signal"
        " receivers "
        + ("shrinks" if after < before else "does not shrink")
        + f" the signal frames (from {before:.0f}% of the busy samples to {after:.0f}%)"
        + (" but not the threads" if keeps else " and the threads")
        + f" ({disconnected['threads']} seen, against {connected['threads']}): `response.close()`"
        " still creates the request's executor. Under gunicorn the worker has"
        + (" a single thread" if wsgi["threads"] == 1 else f" {wsgi['threads']} threads")
        + ", and the same Django"
        f" code (signals, middleware chain, URL resolver, `JsonResponse`) is {span(own, '%', 0)}"
        " of the samples each. The request body spooling (`SpooledTemporaryFile`) and"
        f" `close_old_connections` itself are {small:.0f}% or less in every profile: it is the"
        " thread hops around them that cost, not what they do."
    )


def advice_block(results: Results) -> str:
    """The advice list, each item with what it bought in the run."""
    typical = noise(results)[0]
    wsgi = [ratio(results, GUNICORN_SYNC), ratio(results, GRANIAN_WSGI)]
    under_wsgi = ratio(results, GUNICORN_ASYNC, GUNICORN_SYNC)
    cpu = [r["server_cpu_pct_median"] for r in results["summary"]]
    bound = min(cpu) >= 90
    p99 = milliseconds([row(results, v)["p99_ms_median"] for v in (FIRST, NO_SIGNALS)])
    servers = sorted(
        ((name, ratio(results, v)) for name, v in ASGI_SERVERS.items() if v != FIRST),
        key=lambda pair: -pair[1],
    )
    async_view = 1 / ratio(results, SYNC_VIEW)
    helps = compared(async_view, typical, "helps", "costs", "does not help at all")
    little = max(r for _, r in servers) < min(wsgi)
    return "\n".join(map(wrap, [
        "1. **Serve plain HTTP with a WSGI server, and keep ASGI for what needs it.** The same"
        " Django project runs under both (`wsgi.py` and `asgi.py`); a proxy can route `/ws/`"
        " (and long-lived streams) to the ASGI server and the rest to gunicorn or granian's"
        f" WSGI mode: {span(wsgi)} here. "
        + (
            "Write the HTTP views as sync views then: under WSGI an async view serves"
            f" {times(under_wsgi)} what a sync one does."
            if under_wsgi < 1 - typical / 100
            else f"Under WSGI an async view serves {times(under_wsgi)} what a sync one does."
        ),
        "2. **Keep `MIDDLEWARE` short, and make your own middleware async-native**"
        " (`async_capable = True`, `sync_capable = False` and an `async def __call__`, as"
        " `ServerTimingMiddleware` in `django_app/concurrency/middleware.py`), not"
        " `MiddlewareMixin` subclasses: each built-in or `MiddlewareMixin` middleware costs two"
        " thread hops a request under ASGI. Drop the ones a JSON API does not need (sessions,"
        " messages, CSRF and clickjacking protection for a cookie-less API). The suite's own"
        " list, as it was on the day of the run (its `RequestIdMiddleware` was synchronous"
        " until 2026-12-07, seed 004's lesson, which tests/test_django_idioms.py now shows on"
        f" its own): {times(ratio(results, SUITE_MIDDLEWARE))} here.",
        "3. **Run one process per core**, whichever server: "
        + ("every variant above is bound by one CPU" if bound
           else "the variants above use one CPU")
        + f" ({span(cpu, '%', 0)} server CPU), so throughput scales with processes"
        " (`uvicorn --workers N`, `python -m compare bench --workers N` measures it), not with"
        " concurrency inside one process.",
        "4. **Turn off what you do not read**: uvicorn serves"
        f" {times(ratio(results, NO_ACCESS_LOG))} as much without its access log here"
        " (`--no-access-log`; log at the proxy instead).",
        "5. **Only in a process with no database**: disconnecting the three database receivers"
        " of `request_started`/`request_finished` (as `BENCH_DJANGO_SIGNALS=disconnected` does"
        " in `compare/bench/baselines/django_hello/asgi.py`) removes one of the two hops:"
        f" {times(ratio(results, NO_SIGNALS))} here, and its p99 was {p99[1]} against {p99[0]}."
        " It cannot remove the other (`response.close()`), and in a process that uses the ORM"
        " those receivers are what closes stale connections, so this is not advice for a normal"
        " project.",
        "",
        ("What helps little next to WSGI: " if little else "Also measured: ")
        + "choosing another ASGI server ("
        + ", ".join(f"{name} {times(r)}" for name, r in servers)
        + f": the thread hops stay), and making a trivial view `async def` {helps}"
        f" ({times(async_view)} the sync view's requests/s). An async view pays off when it"
        " awaits I/O, which is what the concurrency scenarios of `make bench` show (`/delay` and"
        " `/fanout`), not in requests/s of a view that does nothing.",
    ]))  # fmt: skip


def reproduce_block(results: Results) -> str:
    """The "Reproduce" line, with how long the run took."""
    started = datetime.datetime.fromisoformat(results["started"])
    finished = datetime.datetime.fromisoformat(results["finished"])
    minutes = max(1, round((finished - started).total_seconds() / 60))
    return wrap(
        f"Reproduce: `make asgi-cost` (about {minutes} minutes here) rewrites"
        " `docs/bench/asgi-cost.json`; `python -m compare.bench.asgi_cost --profiles-only"
        " --rounds 1 --out docs/bench/asgi-cost.json` re-takes only the profiles."
    )


DOC_PARTS = {
    "asgi-cost-setup": setup_block,
    "asgi-cost-noise": noise_block,
    "asgi-cost-findings": findings_block,
    "asgi-cost-profiles": profiles_block,
    "asgi-cost-threads": threads_block,
    "asgi-cost-advice": advice_block,
    "asgi-cost-reproduce": reproduce_block,
}


if __name__ == "__main__":
    sys.exit(main())
