"""`python -m compare.live --site PORT NAME=PORT ...`: what `make run` runs, the reader beside the
servers (shared/harness/serve.py serves them)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from compare.play import MAKE_RUN_URLS
from shared.harness import serve
from shared.harness.targets import PROJECT_ROOT


def python() -> str:
    """This interpreter as a command to type from the project: `.venv/bin/python`."""
    try:
        return Path(sys.executable).relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return sys.executable


def try_lines(urls: Mapping[str, str]) -> list[str]:
    """`python -m compare try` on these servers, for a websocket behaviour and the chat."""
    named = "".join(f" --target-url {name}={url}" for name, url in urls.items())
    if dict(urls) == MAKE_RUN_URLS:
        named = ""
    return [f"{python()} -m compare try {behaviour}{named}" for behaviour in ("ws-echo", "chat")]


def ready(urls: Mapping[str, str]) -> None:
    for line in try_lines(urls):
        print(f"  {line}")
    print("  (the spec's cases on each server, both answers side by side; README: `Try it`)")


def main(argv: Sequence[str] | None = None) -> int:
    return serve.main(argv, on_ready=ready)


if __name__ == "__main__":
    sys.exit(main())
