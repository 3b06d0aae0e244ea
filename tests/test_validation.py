"""The input rules both apps share: each bad input gets its catalogue error, naming the field."""

from __future__ import annotations

import pytest

from shared.runtime.data import parse_page
from shared.runtime.errors import ApiError
from shared.runtime.validation import (
    Field,
    check_content_encoding,
    check_json_content_type,
    given_once,
    parse_json_object,
    parse_seconds,
)

FIELDS = {
    "name": Field(str, min_length=1, max_length=5),
    "note": Field(str, required=False, max_length=3),
    "count": Field(int, required=False, minimum=0, maximum=9),
    "ratio": Field(float, required=False, minimum=0, maximum=1),
    "done": Field(bool, required=False),
}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"{", "invalid_json", "The body is not valid JSON."),
        (b"\xff\xfe", "invalid_json", "The body is not valid JSON."),
        (b"[1]", "not_an_object", "The JSON body must be an object."),
        (b"{}", "invalid_field", "Field 'name' is required."),
        (b'{"name": 1}', "invalid_field", "Field 'name' must be a string."),
        (b'{"name": ""}', "invalid_field", "Field 'name' must be 1 to 5 characters long."),
        (b'{"name": "abcdef"}', "invalid_field", "Field 'name' must be 1 to 5 characters long."),
        (b'{"name": "a", "x": 1}', "invalid_field", "Field 'x' is not a known field."),
        (b'{"name": "a", "count": true}', "invalid_field", "Field 'count' must be an integer."),
        (b'{"name": "a", "count": 1.5}', "invalid_field", "Field 'count' must be an integer."),
        (
            b'{"name": "a", "count": 10}',
            "invalid_field",
            "Field 'count' must be a number from 0 to 9.",
        ),
        (
            b'{"name": "a", "ratio": NaN}',
            "invalid_field",
            "Field 'ratio' must be a number from 0 to 1.",
        ),
        (b'{"name": "a", "done": 1}', "invalid_field", "Field 'done' must be true or false."),
        (b'{"name": "a", "note": null}', "invalid_field", "Field 'note' must be a string."),
        (b"[" * 100_000, "invalid_json", "The body is not valid JSON."),  # a RecursionError
        (
            b'{"name": "a", "ratio": 1' + b"0" * 309 + b"}",  # past float's range: OverflowError
            "invalid_field",
            "Field 'ratio' must be a number from 0 to 1.",
        ),
    ],
)
def test_bad_bodies_get_their_error(body: bytes, code: str, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_json_object(body, FIELDS)
    assert (raised.value.code, raised.value.status) == (code, 400)
    assert raised.value.body == {"error": {"code": code, "message": message}}


def test_a_good_body_is_returned_checked() -> None:
    body = b'{"name": "Ada", "count": 3, "ratio": 1, "done": false}'
    assert parse_json_object(body, FIELDS) == {
        "name": "Ada",
        "count": 3,
        "ratio": 1.0,
        "done": False,
    }


def test_partial_allows_missing_required_fields_but_checks_given_ones() -> None:
    assert parse_json_object(b'{"note": "ok"}', FIELDS, partial=True) == {"note": "ok"}
    with pytest.raises(ApiError):
        parse_json_object(b'{"name": ""}', FIELDS, partial=True)


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_content_types_pass(content_type: str) -> None:
    check_json_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/jsonx", "multipart/form-data"]
)
def test_other_content_types_get_415(content_type: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_json_content_type(content_type)
    assert raised.value.status == 415


@pytest.mark.parametrize(("raw", "seconds"), [("0", 0.0), ("0.25", 0.25), ("10", 10.0)])
def test_seconds_in_range(raw: str, seconds: float) -> None:
    assert parse_seconds(raw) == seconds


@pytest.mark.parametrize("raw", [None, "", "x", "-0.1", "10.01", "nan", "inf", "-inf", "1e999"])
def test_seconds_out_of_range(raw: str | None) -> None:
    with pytest.raises(ApiError) as raised:
        parse_seconds(raw)
    assert raised.value.status == 400


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_a_body_sent_as_it_is_passes(encoding: str | None) -> None:
    check_content_encoding(encoding)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, identity"])
def test_an_encoded_body_gets_415(encoding: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_content_encoding(encoding)
    assert (raised.value.status, raised.value.code) == (415, "unsupported_content_encoding")


@pytest.mark.parametrize(
    "limit", ["9" * 5000, "101", "0", "1e2", "\u0661"]
)  # the last: an Arabic-Indic one, a digit to isdigit()
def test_a_limit_past_its_range_or_not_digits_is_400(limit: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_page([limit], [])
    assert raised.value.body["error"]["message"] == (
        "Query parameter 'limit' must be a whole number from 1 to 100."
    )


def test_leading_zeros_are_the_number() -> None:
    assert parse_page(["0" * 40 + "7"], ["000"]).limit == 7


def test_a_parameter_given_once_or_not_at_all() -> None:
    assert given_once(["1"], "n") == "1"
    assert given_once([], "n") is None
    assert given_once([], "n", "0") == "0"


def test_a_parameter_given_twice_is_400_whichever_value_a_framework_would_take() -> None:
    with pytest.raises(ApiError) as raised:
        given_once(["1", "2"], "n")
    assert raised.value.body["error"]["message"] == "Query parameter 'n' must be given once."
