"""A route's inputs and answers in words, for docs/api.md and the site's API page alike."""

from __future__ import annotations

from shared.spec.model import Param, Route


def inputs(route: Route) -> str:
    """Its path and query parameters, the headers and cookies it reads and its body (`?`:
    optional)."""

    def one(name: str, where: str, param: Param) -> str:
        return f"{where} `{name}`" + ("" if param.required or where == "path" else "?")

    found = [one(n, "path", p) for n, p in route.path_params.items()]
    found += [one(n, "query", p) for n, p in route.query.items()]
    found += [one(n, "header", p) for n, p in route.headers.items()]
    found += [one(n, "cookie", p) for n, p in route.cookies.items()]
    if route.body is not None:
        found.append(f"body {route.body.media_type} ≤ {route.body.max_bytes:,} bytes")
    return ", ".join(found) or "—"


def answers(route: Route) -> str:
    """Its answers other than errors: each status, with its media type unless it is empty."""
    found = [
        str(answer.status) + ("" if answer.empty else f" {answer.media_type}")
        for answer in route.answers
    ]
    return ", ".join(found) or "—"
