"""The OpenAPI document: valid OpenAPI 3.1, every route in it, schemathesis passing on it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import schemathesis
from _pytest.mark import ParameterSet
from hypothesis import HealthCheck, Phase, assume, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode, checks

from shared.harness.expected import expected
from shared.harness.generate import sent, shortened
from shared.runtime.openapi import read_document
from shared.spec import spec
from shared.spec.openapi import document
from tests.plugins.servers import Live, parametrize_targets


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
        } | {("header", n) for n in route.headers} | {("cookie", n) for n in route.cookies}, (
            route.key
        )
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


# schemathesis plays the document against every target: requests it generates from each
# operation, valid (positive) and invalid (negative), each answer checked against the document.
SCHEMATHESIS_EXAMPLES = 12  # per operation and mode, on each target
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# Invalid input is refused with any 4xx: 426 too, the answer to a websocket route's plain GET.
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": ["4xx"]}}}
SCHEMA = schemathesis.openapi.from_dict(
    json.loads(read_document()), config=schemathesis.Config.from_dict(CONFIG)
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


def operation(key: str) -> APIOperation[Any, Any, Any, Any]:
    method, _, path = key.partition(" ")
    return SCHEMA[path][method]


def valid(schema: Mapping[str, Any], value: object) -> bool:
    return Draft202012Validator(schema).is_valid(value)


def played_routes() -> list[ParameterSet]:
    """Each route in each mode it has data for: negative needs a query, a header or a body to
    make invalid (a path parameter made invalid is another path, the generated requests'
    business). An event stream never ends, and schemathesis reads a whole body: not played."""
    played: list[ParameterSet] = []
    for route in spec().routes:
        if any(answer.media_type == "text/event-stream" for answer in route.answers):
            continue
        modes = [GenerationMode.POSITIVE]
        if route.query or route.headers or route.body:
            modes.append(GenerationMode.NEGATIVE)
        played += [pytest.param(route.key, mode, id=f"{route.key}-{mode}") for mode in modes]
    return played


@pytest.mark.parametrize(("key", "mode"), played_routes())
def test_schemathesis_finds_no_failure(
    target: str, live: Live, key: str, mode: GenerationMode
) -> None:
    """Its server-error, status-code, content-type, headers and schema checks, and that invalid
    input is refused with a 4xx; a route whose spec declares a 5xx (errors-boom, fanout's
    upstream errors) may answer it."""
    route = spec().route(key)
    deliberate_5xx = any(spec().errors[code].status >= 500 for code in route.errors)
    excluded: list[CheckFunction] = [checks.not_a_server_error] if deliberate_5xx else []

    @settings(
        max_examples=SCHEMATHESIS_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation(key).as_strategy(generation_mode=mode))
    def played(case: Case[Any]) -> None:
        # A path parameter made invalid is another path, maybe another route's: the generated
        # requests of tests/test_generated.py send those.
        assume(
            all(
                valid(route.path_params[n].schema, v)
                for n, v in (case.path_parameters or {}).items()
            )
        )
        shortened(case, route)
        response = case.call(base_url=live.base_url, timeout=10)
        raw = sent(response.request)
        if expected().server_answer(target, raw, response.status_code, response.content):
            return  # the server answered it itself, as the registry declares
        case.validate_response(response, checks=CHECKS, excluded_checks=excluded)

    played()
