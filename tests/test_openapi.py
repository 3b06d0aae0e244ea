"""The OpenAPI document: valid OpenAPI 3.1, rendered from the spec, every route in it."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from shared.runtime.openapi import read_document
from shared.spec import spec
from shared.spec.openapi import document


def test_the_served_document_is_valid_openapi_3_1() -> None:
    served = json.loads(read_document())
    assert served["openapi"] == "3.1.0"
    validate(served)


def test_every_route_is_an_operation_with_its_inputs_and_errors() -> None:
    paths = document(spec())["paths"]
    for route in spec().routes:
        operation = paths[route.path][route.method.lower()]
        named = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        assert named == {("path", n) for n in route.path_params} | {
            ("query", n) for n in route.query
        } | {("header", n) for n in route.headers}, route.key
        codes = [
            code
            for response in operation["responses"].values()
            if "allOf" in (schema := response.get("content", {}).get("application/json", {})
                           .get("schema", {}))
            for code in schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
        ]  # fmt: skip
        assert sorted(codes) == sorted(route.implied_errors()), route.key


def test_a_path_parameter_excludes_the_segments_other_routes_take() -> None:
    name = document(spec())["paths"]["/{name}"]["get"]["parameters"][0]
    assert {"json", "delay", "openapi.json", "items"} <= set(
        name["schema"]["allOf"][1]["not"]["enum"]
    )
