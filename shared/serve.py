"""`python -m shared.serve NAME=PORT ...`: serve registry targets until Ctrl-C."""

import argparse
import signal
import subprocess
import sys
import time
from types import FrameType

from shared.targets import Server, load_targets


def parse_pair(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text!r}")
    return name, int(port)


def main() -> int:
    targets = load_targets()
    parser = argparse.ArgumentParser(prog="python -m shared.serve", description=__doc__)
    parser.add_argument(
        "pairs",
        nargs="+",
        type=parse_pair,
        metavar="NAME=PORT",
        help=f"a target ({', '.join(targets)}) and the port to serve it on",
    )
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    for name, _ in args.pairs:
        if name not in targets:
            parser.error(f"unknown target {name!r}; known: {', '.join(targets)}")

    def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    servers: list[Server] = []
    try:
        for name, port in args.pairs:
            servers.append(Server(targets[name], host=args.host, port=port).start())
        print("\nServing (Ctrl-C stops both):", flush=True)
        for server in servers:
            print(f"  {server.target.name:<18} {server.base_url}   ({server.target.server})")
        print("\nTry:")
        for server in servers:
            print(f"  curl {server.base_url}/Ada; curl '{server.base_url}/delay?seconds=0.5'")
        print(flush=True)
        while all(server.process and server.process.poll() is None for server in servers):
            time.sleep(0.5)
        print("A server exited by itself; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except (subprocess.CalledProcessError, RuntimeError, TimeoutError) as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
