"""The OpenAPI 3.1 document the apps serve at GET /openapi.json, rendered from the spec's routes."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from shared.runtime.errors import ErrorDef
from shared.spec.model import JSON_MEDIA_TYPE, Param, Route, Spec

TITLE = "async-web-parity"
VERSION = "1.0.0"
DESCRIPTION = (
    "The same behaviours in aiohttp and in Django (async views + Channels): both apps serve "
    "this document, rendered from the spec (shared/spec/behaviours/*.toml) by "
    "shared/spec/openapi.py, never written by hand."
)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}


def _literal_segments(spec: Spec, route: Route, index: int) -> list[str]:
    """The literal path segments other routes have at `index` where their earlier segments
    equal this route's: a value of this route's parameter there would reach them instead."""
    mine = route.path.split("/")
    found: set[str] = set()
    for other in spec.routes:
        theirs = other.path.split("/")
        if len(theirs) > index and theirs[:index] == mine[:index]:
            segment = theirs[index]
            if not segment.startswith("{"):
                found.add(segment)
    return sorted(found)


def _parameter(name: str, where: str, param: Param, schema: Mapping[str, Any]) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": where, "schema": dict(schema)}
    if param.required or where == "path":
        parameter["required"] = True
    if param.description:
        parameter["description"] = param.description
    if param.waits:
        parameter["x-waits"] = True  # seconds it waits, rounds it works: generated ones stay short
    return parameter


def _parameters(spec: Spec, route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    segments = route.path.split("/")
    for name, param in route.path_params.items():
        schema: Mapping[str, Any] = param.schema
        if literals := _literal_segments(spec, route, segments.index(f"{{{name}}}")):
            schema = {"allOf": [schema, {"not": {"enum": literals}}]}
        parameters.append(_parameter(name, "path", param, schema))
    parameters += [_parameter(n, "query", p, p.schema) for n, p in route.query.items()]
    parameters += [_parameter(n, "header", p, p.schema) for n, p in route.headers.items()]
    parameters += [_parameter(n, "cookie", p, p.schema) for n, p in route.cookies.items()]
    return parameters


def _headers(names: Iterable[str]) -> dict[str, Any]:
    """References to the headers every answer carries (components/headers)."""
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _error_responses(
    route: Route, errors: Mapping[str, ErrorDef], every: Iterable[str]
) -> dict[str, Any]:
    """One response per status the route's errors are sent with, its codes listed."""
    by_status: defaultdict[int, list[str]] = defaultdict(list)
    for code in route.implied_errors():
        by_status[errors[code].status].append(code)
    responses: dict[str, Any] = {}
    for status, codes in sorted(by_status.items()):
        schema = {
            "allOf": [
                {"$ref": "#/components/schemas/Error"},
                {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
            ]
        }
        responses[str(status)] = {
            "description": ", ".join(codes),
            "headers": _headers(every),
            "content": {JSON_MEDIA_TYPE: {"schema": schema}},
        }
    return responses


def _operation(spec: Spec, route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{route.name}.{route.method.lower()}",
        "summary": route.summary,
    }
    if parameters := _parameters(spec, route):
        operation["parameters"] = parameters
    if (body := route.body) is not None:
        operation["requestBody"] = {
            "required": body.required,
            "content": {body.media_type: {"schema": dict(body.schema)}},
            "x-max-bytes": body.max_bytes,
        }
    responses: dict[str, Any] = {}
    for answer in route.answers:
        response: dict[str, Any] = {"description": answer.description or "OK"}
        headers = _headers(spec.every_route.headers) if answer.status != 101 else {}
        headers |= {name: {"description": text, "schema": {"type": "string"}}
                    for name, text in answer.headers.items()}  # fmt: skip
        if headers:
            response["headers"] = headers
        if not answer.empty:
            response["content"] = {answer.media_type: {"schema": dict(answer.schema)}}
        if answer.stream:
            response["x-stream"] = True  # sent while it is produced
        responses[str(answer.status)] = response
    errors = _error_responses(route, spec.errors, spec.every_route.headers)
    operation["responses"] = responses | errors
    if route.websocket:
        operation["x-websocket"] = True  # a GET with Upgrade: websocket; plain HTTP is 426
    return operation


def document(spec: Spec) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the spec's routes, in the order the spec declares them."""
    every = spec.every_route.headers
    paths: dict[str, dict[str, Any]] = {}
    for route in spec.routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(spec, route)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA} | {k: dict(v) for k, v in spec.schemas.items()},
            "headers": {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in every.items()
            },
        },
    }


def render(spec: Spec) -> str:
    """The document as the apps serve it: JSON, indented, ending in a newline."""
    return json.dumps(document(spec), indent=2, ensure_ascii=False) + "\n"
