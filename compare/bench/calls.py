"""`python -m compare.bench.calls`: Python function calls per request, a server under cProfile."""

from __future__ import annotations

import argparse
import http.client
import pstats
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from compare.bench.config import load as load_bench
from shared.harness.targets import Server, Target, load_targets
from shared.spec import spec

# Two runs of a fresh server, the same but for how many requests they are sent: the difference
# leaves out what start-up and shutdown cost, whatever they are.
FEW, MANY = 200, 1_200


def servers() -> dict[str, Target]:
    """The targets and the bench's baselines, by name."""
    baselines = {name: b.target for name, b in load_bench(spec()).baselines.items()}
    return {**load_targets(), **baselines}


def profiled(target: Target, out: Path) -> Target:
    """The target's server under `python -m cProfile -o out`: one process, a `-m` command."""
    python, flag, *rest = target.command
    if (python, flag) != ("{python}", "-m"):
        raise ValueError(f"{target.name}: not a `{{python}} -m` command: {target.command}")
    return replace(target, command=(python, "-m", "cProfile", "-o", str(out), "-m", *rest))


def total_calls(target: Target, path: str, requests: int, method: str = "GET") -> int:
    """Function calls the server made over its life, `requests` sequential requests on one
    keep-alive connection answered in between."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "profile"
        server = Server(profiled(target, out), log_path=Path(scratch) / "log")
        with server:
            connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
            for _ in range(requests):
                connection.request(method, path)
                response = connection.getresponse()
                response.read()
                if response.status >= 500:
                    raise RuntimeError(f"{target.name} answered {method} {path} {response.status}")
            connection.close()
            # SIGINT: uvicorn raises a SIGTERM again once it has shut down, which ends the process
            # before cProfile writes; a KeyboardInterrupt unwinds through it.
            assert server.process is not None
            server.process.send_signal(signal.SIGINT)
            server.process.wait(30)
        if not out.exists():
            raise RuntimeError(f"{target.name} wrote no profile\n{server.log_tail()}")
        calls: int = pstats.Stats(str(out)).total_calls  # type: ignore[attr-defined]
        return calls


def calls_per_request(target: Target, path: str, method: str = "GET") -> float:
    many = total_calls(target, path, MANY, method)
    few = total_calls(target, path, FEW, method)
    return (many - few) / (MANY - FEW)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--target", action="append", required=True, help="a target or a baseline; repeatable"
    )
    parser.add_argument("--path", action="append", help="default: /json; repeatable")
    parser.add_argument("--method", default="GET")
    args = parser.parse_args(argv)
    known = servers()
    if unknown := [name for name in args.target if name not in known]:
        parser.error(f"unknown {unknown}; known: {', '.join(known)}")
    for path in args.path or ["/json"]:
        for name in args.target:
            calls = calls_per_request(known[name], path, args.method)
            print(f"{name:24} {args.method} {path:12} {calls:9.1f} calls per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
