"""`python -m shared.harness.serve NAME=PORT ...`: serve registry targets until Ctrl-C."""

import argparse
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from shared.harness.targets import PROJECT_ROOT, Server, load_targets
from shared.harness.upstream import SERVICE as UPSTREAM

SITE_DIR = PROJECT_ROOT / "var" / "site"


def parse_pair(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text!r}")
    return name, int(port)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the supervisor's terminal is for the servers' addresses, not one line a file


def serve_site(
    host: str,
    port: int,
    directory: Path = SITE_DIR,
    handler: Callable[..., BaseHTTPRequestHandler] | None = None,
) -> ThreadingHTTPServer:
    """Serve the reading site that `python -m compare site` built in `directory`, in a thread;
    `handler` answers its requests (default: its files)."""
    if not (directory / "index.html").is_file():
        raise LookupError(f"no site in {directory}: build it first with `python -m compare site`")
    handler = handler or partial(QuietHandler, directory=str(directory))
    site = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=site.serve_forever, name="site", daemon=True).start()
    return site


# The site's server (host, port, each target's URL); `python -m compare.live` gives its own.
type SiteServer = Callable[[str, int, Mapping[str, str]], ThreadingHTTPServer]
# Told each target's URL once every server answers; `python -m compare.live` prints more to try,
# and starts a parity run on them.
type OnReady = Callable[[Mapping[str, str]], None]
# Called first when stopping, before any server stops: what on_ready started ends while they answer.
type OnStop = Callable[[], None]


def static_site(host: str, port: int, urls: Mapping[str, str]) -> ThreadingHTTPServer:
    return serve_site(host, port)


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (kill, a `timeout`, a CI's cancel) ends the program as Ctrl-C does, through its
    clean-up: no server it started is left behind."""
    raise KeyboardInterrupt


def main(
    argv: Sequence[str] | None = None,
    site_server: SiteServer = static_site,
    on_ready: OnReady | None = None,
    on_stop: OnStop | None = None,
) -> int:
    targets = load_targets()
    parser = argparse.ArgumentParser(prog="python -m shared.harness.serve", description=__doc__)
    parser.add_argument(
        "pairs",
        nargs="+",
        type=parse_pair,
        metavar="NAME=PORT",
        help=f"a target ({', '.join(targets)}) and the port to serve it on",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--site",
        type=int,
        metavar="PORT",
        help="also serve the reading site (built by `python -m compare site`) on PORT",
    )
    parser.add_argument(
        "--upstream-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the port of the upstream service /fanout calls (default: a free one)",
    )
    args = parser.parse_args(argv)
    for name, _ in args.pairs:
        if name not in targets:
            parser.error(f"unknown target {name!r}; known: {', '.join(targets)}")

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # Ctrl-C stops everything even when started with SIGINT ignored (nohup, `&` in a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    servers: list[Server] = []
    upstream: Server | None = None
    site: ThreadingHTTPServer | None = None
    try:
        urls = {name: f"http://{args.host}:{port}" for name, port in args.pairs}
        if args.site is not None:
            site = site_server(args.host, args.site, urls)
        upstream = Server(UPSTREAM, host=args.host, port=args.upstream_port or None).start()
        env = {"UPSTREAM_URL": upstream.base_url}
        for name, port in args.pairs:
            servers.append(Server(targets[name], host=args.host, port=port, env=env).start())
        print("\nServing (Ctrl-C stops both):", flush=True)
        for server in servers:
            print(f"  {server.target.name:<18} {server.base_url}   ({server.target.server})")
        print(f"  {'upstream':<18} {upstream.base_url}   (what /fanout calls)")
        if site is not None:
            print(f"  {'site':<18} http://{args.host}:{args.site}/   (the code side by side)")
        print("\nTry:")
        for server in servers:
            print(f"  curl {server.base_url}/Ada; curl '{server.base_url}/delay?seconds=0.5'")
        if on_ready is not None:
            on_ready(urls)
        print(flush=True)
        while all(server.running for server in [upstream, *servers]):
            time.sleep(0.5)
        print("A server exited by itself; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except (subprocess.CalledProcessError, RuntimeError, OSError, LookupError, ValueError) as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C (or SIGTERM) must not cut the clean-up short and leave servers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if on_stop is not None:
            on_stop()
        for server in reversed(servers):
            server.stop()
        if upstream is not None:
            upstream.stop()
        if site is not None:
            site.shutdown()
            site.server_close()


if __name__ == "__main__":
    sys.exit(main())
