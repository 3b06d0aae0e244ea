"""`python -m compare.live --site PORT NAME=PORT ...`: what `make run` runs, the reader beside the
servers (shared/harness/serve.py serves them), its statuses filled by a parity run on them."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from http.server import ThreadingHTTPServer
from pathlib import Path

from compare.play import MAKE_RUN_URLS
from compare.report import default_report_path, load
from compare.site import build
from shared.harness import serve
from shared.harness.targets import PROJECT_ROOT


def shown(path: Path) -> str:
    """A path as typed from the project: `.venv/bin/python`, `var/live-parity.log`."""
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def python() -> str:
    """This interpreter as a command to type from the project."""
    return shown(Path(sys.executable))


def try_lines(urls: Mapping[str, str]) -> list[str]:
    """`python -m compare try` on these servers, for a websocket behaviour and the chat."""
    named = "".join(f" --target-url {name}={url}" for name, url in urls.items())
    if dict(urls) == MAKE_RUN_URLS:
        named = ""
    return [f"{python()} -m compare try {behaviour}{named}" for behaviour in ("ws-echo", "chat")]


def parity_argv(urls: Mapping[str, str], report: Path, select: str = "") -> list[str]:
    """tests/test_parity.py on running servers, its outcomes merged into `report`."""
    argv = [sys.executable, "-m", "pytest", "tests/test_parity.py", "-q", "-p", "no:cacheprovider"]
    argv += [f"--target-url={name}={url}" for name, url in urls.items()]
    argv.append(f"--parity-report={report}")
    return argv + (["-k", select] if select else [])


class ParityRun:
    """The parity suite on the live servers, in the background, so that the site's statuses are
    this machine's from the first visit; the site is rebuilt when it ends."""

    def __init__(self, report: Path, site: Path, select: str = "") -> None:
        self.report = report
        self.site = site
        self.select = select
        self.log = report.with_name("live-parity.log")  # var/, beside the report
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()

    def notice(self, urls: Mapping[str, str]) -> str:
        """What the site says while the run is under way."""
        servers = ", ".join(f"<code>{escape(n)}</code> at {escape(u)}" for n, u in urls.items())
        return (
            f"<code>tests/test_parity.py</code> is running on the servers <code>make run</code>"
            f" serves ({servers}): the statuses on these pages are the last run's until it ends"
            " and rebuilds them. Reload then."
        )

    def start(self, urls: Mapping[str, str]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            # A session of its own: Ctrl-C in the terminal reaches the servers, not the run, which
            # stop() ends first, so that no server going away is recorded as a failure.
            self.process = subprocess.Popen(
                parity_argv(urls, self.report, self.select),
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = datetime.now(UTC)
        threading.Thread(target=self.wait, args=(urls, started), name="parity", daemon=True).start()

    def wait(self, urls: Mapping[str, str], started: datetime) -> None:
        assert self.process is not None
        status = self.process.wait()
        if self.stopping.is_set():
            return
        report = load(self.report)
        build(self.site, report)
        seconds = (datetime.now(UTC) - started).total_seconds()
        run = report.last_run
        if status in (0, 1) and run is not None and set(run.targets) == set(urls):
            counts = ", ".join(f"{n} {outcome}" for outcome, n in run.counts.items() if n)
            print(
                f"\nStatuses: tests/test_parity.py on {' and '.join(urls)}: {counts} in"
                f" {seconds:.0f} s; the site shows them (log: {shown(self.log)})",
                flush=True,
            )
        else:
            print(
                f"\nStatuses: the parity run ended with exit status {status}, no statuses"
                f" recorded; see {shown(self.log)}",
                flush=True,
            )

    def stop(self) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: pytest ends without writing a partial report
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Live:
    """The hooks compare.live gives shared/harness/serve.py: the site, the try lines, the run."""

    def __init__(self, report: Path, directory: Path, run: ParityRun | None) -> None:
        self.report = report
        self.directory = directory
        self.run = run
        self.site: ThreadingHTTPServer | None = None

    def serve_site(self, host: str, port: int, urls: Mapping[str, str]) -> ThreadingHTTPServer:
        """The site built afresh from the last report (saying a run is coming), then served."""
        notice = self.run.notice(urls) if self.run else ""
        build(self.directory, load(self.report), notice=notice)
        self.site = serve.serve_site(host, port, self.directory)
        return self.site

    def ready(self, urls: Mapping[str, str]) -> None:
        for line in try_lines(urls):
            print(f"  {line}")
        print("  (the spec's cases on each server, both answers side by side; README: `Try it`)")
        if self.run is not None and self.site is not None:
            self.run.start(urls)
            print(
                "\nStatuses: tests/test_parity.py is running on these servers in the background"
                f" (log: {shown(self.run.log)}); the site's pages are rebuilt when it ends."
            )

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compare.live",
        description=f"{__doc__} These options, then shared.harness.serve's:",
        add_help=False,
        allow_abbrev=False,  # --site is serve's, not short for --site-dir
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="PATH",
        help="the parity report the site shows and the run merges into (default: $PARITY_REPORT"
        " or var/parity-report.json)",
    )
    parser.add_argument(
        "--site-dir",
        type=Path,
        default=serve.SITE_DIR,
        metavar="DIR",
        help="where the site is built and served from (default: var/site)",
    )
    parser.add_argument(
        "--statuses",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --site, run tests/test_parity.py on the servers in the background and rebuild"
        " the site with its outcomes (default: on)",
    )
    parser.add_argument(
        "--statuses-k",
        default="",
        metavar="EXPR",
        help="only the parity cases pytest's -k EXPR selects, e.g. 'hello or ws-echo'",
    )
    args, rest = parser.parse_known_args(argv)
    if {"-h", "--help"} & set(rest):
        parser.print_help()
        print()
    report = args.report or default_report_path()
    run = ParityRun(report, args.site_dir, args.statuses_k) if args.statuses else None
    live = Live(report, args.site_dir, run)
    return serve.main(rest, site_server=live.serve_site, on_ready=live.ready, on_stop=live.stop)


if __name__ == "__main__":
    sys.exit(main())
