"""Generated requests for every route: schemathesis's, from the OpenAPI document, then mutated."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import quote

import requests
import schemathesis
from hypothesis import note
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from shared.harness.raw import RawRequest
from shared.runtime.openapi import read_document
from shared.runtime.validation import JSON_BODY_MAX_BYTES
from shared.spec import spec
from shared.spec.model import Route

SHORT_WAIT = 0.02  # seconds: what a generated `waits` parameter is cut to
# Over the JSON limit (1 MiB) by this much at most: the boundary is what is tested. The upload
# limit, 10 MiB, is the spec's cases' (sent six times a request, it would be most of the run).
OVER_LIMIT = 16 * 1024
# What schemathesis adds that no route reads and every server would answer alike.
DROPPED_HEADERS = {"user-agent", "accept-encoding", "connection", "x-schemathesis-testcaseid"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@cache
def openapi() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(json.loads(read_document()))


def shortened(case: Case[Any], route: Route) -> None:
    """A `waits` query parameter cut to SHORT_WAIT when it is a number or left out (its default
    may be long): the route still waits, for no longer than that. One that counts rounds of work
    (an integer) is cut to its least value instead: the route still works, the least it can."""
    for name, param in route.query.items():
        if param.schema.get("type") == "integer":
            value = case.query.get(name)
            least = param.schema.get("minimum", 0)
            if param.waits and isinstance(value, int) and not isinstance(value, bool):
                case.query[name] = min(value, least)
            continue
        value = case.query.get(name, SHORT_WAIT)
        if param.waits and isinstance(value, int | float) and not isinstance(value, bool):
            case.query[name] = min(value, SHORT_WAIT)


def as_raw(case: Case[Any]) -> RawRequest:
    """The request schemathesis would send for `case`, as bytes the raw client sends as given:
    without the headers no route reads, framed as requests frames it."""
    prepared = requests.Request(**case.as_transport_kwargs(base_url="http://generated")).prepare()
    return sent(prepared, dropped=DROPPED_HEADERS)


def sent(prepared: requests.PreparedRequest, dropped: Collection[str] = ()) -> RawRequest:
    """A request requests prepared (schemathesis's), as a RawRequest: its headers but the
    `dropped` (lower-case names), its Content-Length as requests set it or left it out."""
    body = prepared.body
    return RawRequest(
        method=prepared.method or "GET",
        target=prepared.path_url,
        headers=tuple(
            (name, str(value))
            for name, value in prepared.headers.items()
            if name.lower() not in dropped
        ),
        body=body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b"",
        add_length=False,
    )


type Draw = st.DrawFn
type Mutation = Callable[[Draw, Route, RawRequest], RawRequest]


def _path_and_query(request: RawRequest) -> tuple[str, str]:
    path, _, query = request.target.partition("?")
    return path, query


def _with_header(request: RawRequest, name: str, value: str | None) -> RawRequest:
    """`name` replaced by `value` (removed when None), the other headers as they were."""
    kept = tuple((k, v) for k, v in request.headers if k.lower() != name.lower())
    return replace(request, headers=kept if value is None else (*kept, (name, value)))


def _with_body(request: RawRequest, body: bytes) -> RawRequest:
    framed = _with_header(request, "Content-Length", str(len(body)))
    return replace(framed, body=body)


def another_method(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """A method the route may not take: 405 with Allow, or the method's own meaning."""
    return replace(request, method=draw(st.sampled_from(METHODS)))


def odd_path(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """The path with a trailing slash, a doubled slash, a dot segment or a letter
    percent-encoded: the same resource, another, or none."""
    path, query = _path_and_query(request)
    kind = draw(st.sampled_from(["trailing", "double", "dot", "dotdot", "encoded", "upper"]))
    if kind == "trailing":
        path += "/"
    elif kind == "double":
        path = "/" + path
    elif kind == "dot":
        path = "/." + path
    elif kind == "dotdot":
        path = "/x/.." + path
    elif kind == "encoded" and (letters := [i for i, c in enumerate(path) if c.isalpha()]):
        at = draw(st.sampled_from(letters))
        path = f"{path[:at]}%{ord(path[at]):02X}{path[at + 1 :]}"
    else:
        path = path.upper()
    return replace(request, target=path + (f"?{query}" if query else ""))


def repeated_query(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """A query parameter given twice (the route's own or another): 400 where the route reads it."""
    name = draw(st.sampled_from([*route.query, "other"]))
    value = draw(st.sampled_from(["1", "", "x"]))
    joiner = "&" if "?" in request.target else "?"
    pair = f"{quote(name)}={value}"
    return replace(request, target=f"{request.target}{joiner}{pair}&{pair}")


# Never given twice by the mutations: Host and Content-Length frame the request; Content-Type
# twice is refused by aiohttp's parser and gunicorn and read joined by the rest (declared, its
# example sent by tests/test_expected.py), so a write that some targets store and others refuse
# would leave their stores different for every later request.
NOT_DUPLICATED = {"host", "content-length", "content-type"}


def duplicated_header(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """A header the request has, or the route reads, given a second time."""
    names = [name for name, _ in request.headers if name.lower() not in NOT_DUPLICATED]
    read = [name for name in route.headers if name not in NOT_DUPLICATED]
    name = draw(st.sampled_from([*names, *read, "Accept"]))
    value = draw(st.sampled_from([*request.header(name), "x", ""]))
    return replace(request, headers=(*request.headers, (name, value)))


MEDIA_TYPES = (
    None,
    "application/json",
    "Application/JSON",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=b",
    "Multipart/Form-Data; boundary=b",
    "application/json, text/plain",
    "json",
)


def other_media_type(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """Content-Type left out, in other letters, with parameters, or another type."""
    return _with_header(request, "Content-Type", draw(st.sampled_from(MEDIA_TYPES)))


def content_encoding(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """A Content-Encoding the body is not in, or identity."""
    coding = draw(st.sampled_from(["gzip", "identity", "br", "deflate", "GZIP", "gzip, identity"]))
    return _with_header(request, "Content-Encoding", coding)


def broken_body(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """The body cut short, with bytes after it, nested deeper than any parser recurses, past
    the JSON limit (by up to OVER_LIMIT), or not UTF-8. Past the limit only where the route
    reads a body: elsewhere the app answers without reading it, and gunicorn's sync worker then
    closes with a MiB unread, which resets the connection (no lingering close, RFC 9112 §9.6)
    while the client is still sending: it never reads the answer."""
    body = request.body
    reads_body = route.body is not None and request.method == route.method
    kinds = ["cut", "trailing", "deep", *(["over"] if reads_body else []), "not-utf-8"]
    kind = draw(st.sampled_from(kinds))
    if kind == "cut":
        body = body[: draw(st.integers(0, max(len(body) - 1, 0)))]
    elif kind == "trailing":
        body += draw(st.sampled_from([b"x", b"\x00", b" ", b"{}", b"\r\n"]))
    elif kind == "deep":
        depth = draw(st.sampled_from([100, 10_000]))
        body = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "over":
        limit = JSON_BODY_MAX_BYTES
        body = b'{"name": "' + b"a" * (limit + draw(st.integers(0, OVER_LIMIT))) + b'"}'
    else:
        body = b'{"name": "\xff\xfe"}'
    return _with_body(request, body)


def accept(draw: Draw, route: Route, request: RawRequest) -> RawRequest:
    """An Accept that asks for something else: the answer is the same."""
    value = draw(st.sampled_from(["text/html", "application/xml", "*/*", "", "text/event-stream"]))
    return _with_header(request, "Accept", value)


MUTATIONS: Sequence[Mutation] = (
    another_method,
    odd_path,
    repeated_query,
    duplicated_header,
    other_media_type,
    content_encoding,
    broken_body,
    accept,
)


@dataclass(frozen=True)
class Generated:
    """A generated request, the route it was made for and how: the mode, the mutations."""

    route: Route
    request: RawRequest
    how: tuple[str, ...]

    def __repr__(self) -> str:
        """A line for hypothesis's report (a failure prints the request whole, to send again):
        the dataclass's own would hold the route's schemas and a body of up to a MiB."""
        request = self.request
        target = request.target if len(request.target) <= 100 else f"{request.target[:100]}..."
        return (
            f"Generated({self.route.key} ({', '.join(self.how)}): {request.method} {target},"
            f" {len(request.headers)} headers, {len(request.body)} bytes of body)"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What hypothesis's pretty printer writes (it spells out a dataclass's fields)."""
        printer.text(repr(self))


def routes(lacking: frozenset[str] = frozenset()) -> list[Route]:
    """The spec's routes; a stream that never ends (SSE) only where every target streams."""
    endless = "streaming" in lacking
    return [
        route
        for route in spec().routes
        if not (endless and any(a.media_type == "text/event-stream" for a in route.answers))
    ]


@st.composite
def generated(draw: Draw, chosen: Sequence[Route]) -> Generated:
    """A route, a request schemathesis generates for it (valid or not), then up to two
    mutations of it."""
    route = draw(st.sampled_from(chosen))
    mode = draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    method, _, path = route.key.partition(" ")
    case = draw(openapi()[path][method].as_strategy(generation_mode=mode))
    shortened(case, route)
    request = as_raw(case)
    how = [mode.value]
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=2, unique=True)):
        request = mutation(draw, route, request)
        how.append(mutation.__name__)
    note(f"{route.key} ({', '.join(how)})")
    return Generated(route, request, tuple(how))
