"""HTTP/1.1 conformance: each rule of shared/harness/http.toml on every target, over raw sockets."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shared.harness.http_rules import (
    HOSTILE_CHECKS,
    Expected,
    Rule,
    fill,
    http_rules,
    load_rules,
    upload_body,
)
from shared.harness.raw import Answer, RawConnection, header_lines, printf_nc
from tests.plugins.servers import Live, selected_targets

# How long the server has to close a connection it should close, or to send what it should not
# after the last answer (an answer to a smuggled request).
GRACE = 1.0
SHOWN_BYTES = 2000  # a request longer than this is not printed as a command line


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_rule[django-daphne-date]`: the target, then the rule; the rule's name marks it, for
    tests/plugins/expected.py."""
    if "rule" not in metafunc.fixturenames:
        return
    params = [
        pytest.param(
            target, rule, id=f"{target}-{rule.name}", marks=pytest.mark.http_rule(rule.name)
        )
        for target in selected_targets(metafunc.config)
        for rule in http_rules()
        if rule.check not in HOSTILE_CHECKS  # tests/test_hostile.py's
    ]
    metafunc.parametrize(("target", "rule"), params)


def tokens(answer: Answer, name: str) -> set[str]:
    """The comma-separated tokens of a header, lower-cased (`Connection: Keep-Alive, x`)."""
    return {t.strip().lower() for value in answer.header_values(name) for t in value.split(",")}


def ends_connection(answer: Answer, http10: bool) -> bool:
    """The answer says the server closes after it: `close`, or to HTTP/1.0 no `keep-alive`."""
    connection = tokens(answer, "connection")
    return "close" in connection or (http10 and "keep-alive" not in connection)


def problems(answer: Answer, expected: Expected) -> list[str]:
    """What in `answer` is not as `expected` says."""
    if answer.outcome != "response":
        return [f"no answer: {answer.describe()}"]
    found = []
    if expected.status and answer.status not in expected.status:
        found.append(f"status {answer.status}, not {' or '.join(map(str, expected.status))}")
    for name, pattern in expected.headers.items():
        value = answer.header(name)
        if value is None or not re.search(pattern, value):
            found.append(f"{name}: {value!r} does not match {pattern!r}")
    found += [
        f"has {name}: {answer.header(name)}" for name in expected.absent if answer.header(name)
    ]
    if expected.body is not None and not re.search(expected.body, answer.body.decode("latin-1")):
        found.append(f"its body has no {expected.body!r}")
    return found


def described(answer: Answer) -> str:
    if answer.outcome != "response":
        return answer.describe()
    return f"{answer.status}\n{header_lines(answer.headers)}\n\n{answer.body[:300]!r}"


def sent(data: bytes, base_url: str) -> str:
    """The request, as a command line that sends it again, or as its first bytes."""
    if len(data) <= SHOWN_BYTES:
        return printf_nc(data, base_url)
    return f"{data[:200]!r}... ({len(data):,} bytes)"


async def answers(base_url: str, rule: Rule) -> None:
    """The requests sent together on one connection (or each on its own), each answered in order
    as the rule says, until an answer ends the connection; nothing after the last answer."""
    groups = [[i] for i in range(len(rule.requests))] if rule.connections == "each" else [
        list(range(len(rule.requests)))
    ]  # fmt: skip
    for group in groups:
        await answers_on_one_connection(base_url, rule, group)


async def answers_on_one_connection(base_url: str, rule: Rule, indexes: Sequence[int]) -> None:
    wire = rule.wire(urlsplit(base_url).netloc)
    data = b"".join(wire[i] for i in indexes)
    connection = await RawConnection.open(base_url, rule.wait)
    try:
        try:
            await connection.send(data)
        except ConnectionError:
            pass  # the server may answer and close before it reads all of it (a 431)
        ended = False
        for index in indexes:
            answer = await connection.response(rule.method(index), wait=rule.wait)
            found = problems(answer, rule.answers[index])
            assert not found, (
                f"request {index + 1}: {'; '.join(found)}\nsent: {sent(data, base_url)}"
                f"\nanswer:\n{described(answer)}"
            )
            if ended := ends_connection(answer, rule.http10(index)):
                break
        rest, closed = await connection.rest(rule.wait if rule.close or ended else GRACE)
        assert not rest, (
            f"bytes after the last answer (an answer to a request smuggled in the body?):"
            f" {rest[:300]!r}\nsent: {sent(data, base_url)}"
        )
        if rule.close or ended:
            why = "the rule says so" if rule.close else "its answer said it would"
            assert closed, f"the connection is still open {rule.wait} s after the answer ({why})"
    finally:
        await connection.close()


@asynccontextmanager
async def sent_alone(base_url: str, rule: Rule) -> AsyncIterator[tuple[bytes, RawConnection]]:
    """The rule's one request, sent on a connection of its own: its bytes and the connection."""
    [data] = rule.wire(urlsplit(base_url).netloc)
    connection = await RawConnection.open(base_url, rule.wait)
    try:
        await connection.send(data)
        yield data, connection
    finally:
        await connection.close()


async def before_body(base_url: str, rule: Rule) -> None:
    """A head alone, its body never sent: the final answer comes all the same, and no 100
    Continue before it (which asks for the body the answer refuses)."""
    async with sent_alone(base_url, rule) as (head, connection):
        answer = await connection.response(rule.method(0), wait=rule.wait)
        found = problems(answer, rule.answers[0])
        if re.match(rb"HTTP/1\.[01] 100", connection.received):
            found.append("100 Continue came first")
        assert not found, (
            f"{'; '.join(found)} (the body was never sent)\nsent: {sent(head, base_url)}"
            f"\nanswer:\n{described(answer)}"
        )


async def expect_continue(base_url: str, rule: Rule) -> None:
    """A head with `Expect: 100-continue`: 100 Continue at once, then the body, then the answer."""
    async with sent_alone(base_url, rule) as (head, connection):
        try:
            interim = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), rule.wait)
        except TimeoutError:
            pytest.fail(f"nothing within {rule.wait} s of the head\nsent: {sent(head, base_url)}")
        status_line = interim.partition(b"\r\n")[0]
        assert re.fullmatch(rb"HTTP/1\.[01] 100( .*)?", status_line), (
            f"the head was answered {status_line!r}, not 100 Continue"
        )
        await connection.send(upload_body())
        answer = await connection.response(rule.method(0), wait=rule.wait * 10)
        found = problems(answer, rule.answers[0])
        assert not found, f"after 100 Continue and the body: {'; '.join(found)}"


async def no_hang(base_url: str, rule: Rule) -> None:
    """An answer or a close within the rule's wait, whatever it is."""
    async with sent_alone(base_url, rule) as (data, connection):
        answer = await connection.response(rule.method(0), wait=rule.wait)
        assert answer.outcome in ("response", "closed"), (
            f"neither an answer nor a close: {answer.describe()}\nsent: {sent(data, base_url)}"
        )


CHECKS: dict[str, Callable[[str, Rule], Awaitable[None]]] = {
    "answers": answers,
    "before-body": before_body,
    "continue": expect_continue,
    "no-hang": no_hang,
}


async def test_rule(live: Live, rule: Rule) -> None:
    await CHECKS[rule.check](live.base_url, rule)


GOOD_RULE = """
[[rule]]
name = "date"
section = "RFC 9110 §6.6.1"
level = "MUST"
says = "Date."
check = "answers"
requests = ["GET /json HTTP/1.1\\r\\nHost: {host}\\r\\n\\r\\n"]
answers = [{ status = [200] }]
"""


def test_the_rules_load_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "http.toml"
    path.write_text(GOOD_RULE, encoding="utf-8")
    assert [rule.name for rule in load_rules(path)] == ["date"]
    assert {rule.name for rule in http_rules()} >= {"date", "content-length", "bare-lf"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            GOOD_RULE + GOOD_RULE, "rule 2 (date): its name is another rule's", id="twice"
        ),
        pytest.param(
            GOOD_RULE.replace("RFC 9110 §6.6.1", "RFC 7231"), "rule 1 (date): section", id="section"
        ),
        pytest.param(
            GOOD_RULE.replace("answers = [{ status = [200] }]", "answers = []"),
            "one answer for each request",
            id="answers",
        ),
        pytest.param(
            GOOD_RULE.replace("{host}", "{port}"), "unknown placeholder 'port'", id="placeholder"
        ),
        pytest.param(GOOD_RULE.replace('"MUST"', '"MUSTN\'T"'), "`$.rule[0].level`", id="level"),
        pytest.param(GOOD_RULE.replace('"answers"', '"answer"'), "`$.rule[0].check`", id="check"),
    ],
)
def test_a_malformed_rule_names_the_file_and_the_rule(
    tmp_path: Path, text: str, problem: str
) -> None:
    (path := tmp_path / "http.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}: ")) as raised:
        load_rules(path)
    assert problem in str(raised.value)


def test_length_counts_what_follows_the_head_once_the_rest_is_filled() -> None:
    request = "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n\r\nab{host}"
    assert fill(request, "h:1") == "POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 5\r\n\r\nabh:1"
