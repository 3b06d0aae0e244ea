"""`python -m compare.live --site PORT NAME=PORT ...`: what `make run` runs, the reader beside the
servers (shared/harness/serve.py serves them), its statuses filled by a parity run on them."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from html import escape
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from compare import UnknownBehaviour, find_behaviour
from compare.play import MAKE_RUN_URLS, NotRunning, play_case, to_json
from compare.report import default_report_path, load
from compare.site import build
from shared.harness import serve
from shared.harness.targets import PROJECT_ROOT
from shared.spec import spec

RUN_LIMIT = 1024  # bytes: a Run request names a behaviour and a case number, nothing more


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


class SiteHandler(serve.QuietHandler):
    """The site's pages, and what their Run buttons ask: `GET /api/targets`, the servers a case
    is played on; `POST /api/try` with `{"behaviour": id, "case": n}`, the case played on each
    with the suite's client (compare/play.py), both answers side by side as JSON.

    The page cannot send a case itself: a browser writes Origin, Host, Connection and
    Content-Length its own way, and reads nothing from another origin unless it answers with CORS
    headers, which neither app sends. So the page asks its own server, and only its own pages
    may: a POST whose Origin is not this server's is refused with 403, as the apps refuse a
    foreign websocket handshake."""

    def __init__(self, *args: Any, urls: Mapping[str, str], **kwargs: Any) -> None:
        self.urls = urls  # set before the base class handles the request in __init__
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/api/targets":
            targets = [{"name": name, "url": url} for name, url in self.urls.items()]
            self.answer(HTTPStatus.OK, {"targets": targets})
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/api/try":
            self.answer(HTTPStatus.NOT_FOUND, {"error": f"no {self.path} here"})
            return
        if self.headers.get("Origin") != f"http://{self.headers.get('Host')}":
            self.answer(HTTPStatus.FORBIDDEN, {"error": "only this site's pages may run cases"})
            return
        try:
            size = int(self.headers.get("Content-Length", "0"))
            if not 0 < size <= RUN_LIMIT:
                raise ValueError(f"a body of 1 to {RUN_LIMIT} bytes, not {size}")
            asked = json.loads(self.rfile.read(size))
            the_spec = spec()
            behaviour = find_behaviour(the_spec, str(asked["behaviour"]))
            number = asked["case"]
            if not isinstance(number, int) or not 1 <= number <= len(behaviour.cases):
                raise ValueError(f"{behaviour.id} has cases 1 to {len(behaviour.cases)}")
        except (ValueError, KeyError, TypeError, UnknownBehaviour) as error:
            self.answer(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        try:
            answers = asyncio.run(play_case(the_spec, behaviour, number - 1, self.urls))
        except NotRunning as error:
            self.answer(HTTPStatus.BAD_GATEWAY, {"error": str(error)})
            return
        self.answer(HTTPStatus.OK, to_json(answers))

    def answer(self, status: HTTPStatus, body: Mapping[str, object]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def serve_site(
    host: str, port: int, directory: Path, urls: Mapping[str, str]
) -> ThreadingHTTPServer:
    """The site in `directory`, its Run buttons playing cases on `urls`, served in a thread."""
    handler = partial(SiteHandler, directory=str(directory), urls=urls)
    return serve.serve_site(host, port, directory, handler)


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
        self.site = serve_site(host, port, self.directory, urls)
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
