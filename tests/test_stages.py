"""The two implementations aligned stage by stage (compare/stages.py), from the spec's stages."""

from __future__ import annotations

import html
import re

import msgspec
import pytest

from compare.site import aligned_section
from compare.source import implementations
from compare.stages import StageError, align, code_lines
from shared.spec import Behaviour, spec
from shared.spec.model import APPS, Stage

BEHAVIOURS = spec().behaviours


@pytest.mark.parametrize("behaviour", BEHAVIOURS, ids=[b.id for b in BEHAVIOURS])
def test_the_stages_share_out_every_line_of_both_implementations_once(
    behaviour: Behaviour,
) -> None:
    """Every behaviour has stages; each starts on one line of each app it names, and the
    stages' lines are every source's lines, each once."""
    alignment = align(behaviour)
    for app in APPS:
        covered: dict[str, list[int]] = {source.ref: [] for source in alignment.sources[app]}
        for aligned in alignment.stages:
            assert bool(aligned.chunks[app]) == (aligned.stage.anchor(app) is not None)
            for chunk in aligned.chunks[app]:
                assert chunk.first < chunk.last
                covered[chunk.source.ref] += range(chunk.first, chunk.last)
        for source in alignment.sources[app]:
            assert sorted(covered[source.ref]) == list(range(len(source.code.splitlines()))), (
                f"{app} {source.ref}: every line in one stage"
            )
        assert alignment.lines(app) == sum(aligned.lines(app) for aligned in alignment.stages)


def with_stage(behaviour: Behaviour, stage: Stage) -> Behaviour:
    return msgspec.structs.replace(behaviour, stages=(stage,))


@pytest.mark.parametrize(
    ("text", "found"),
    [("web.Re", "on 2 lines"), ("no such line", "on 0 lines")],
)
def test_a_stage_line_found_twice_or_never_names_the_stage_and_the_lines(
    text: str, found: str
) -> None:
    hello = spec().behaviour("hello")
    stage = Stage(kind="work", title="a stage", aiohttp=text)
    with pytest.raises(StageError) as raised:
        align(with_stage(hello, stage))
    message = str(raised.value)
    assert "10-basics.toml: behaviour 'hello', stage 'work' (a stage): aiohttp" in message
    assert f"{text!r} is {found} of its implementations, not one" in message
    (handler, *_) = implementations(hello)["aiohttp"]
    lines = [f"{handler.path}:{handler.start + n}" for n, line in enumerate(
        handler.code.splitlines()) if text in line]  # fmt: skip
    assert message.endswith(f" ({', '.join(lines)})" if lines else "not one")


def test_a_source_no_stage_starts_in_is_named() -> None:
    hello = spec().behaviour("hello")
    (first, *_) = hello.stages
    with pytest.raises(StageError) as raised:
        align(with_stage(hello, first))  # the first routes: neither handler nor the last route
    assert str(raised.value) == (
        "10-basics.toml: behaviour 'hello': no stage starts in aiohttp's"
        " aiohttp_app.basics.views:hello, aiohttp_app.basics.routes:setup_fallback_routes:"
        " give it a [[behaviour.stage]]"
    )


def test_lines_of_code_leave_out_blank_and_comment_lines() -> None:
    assert code_lines("def f():\n\n    # why\n    return 1  # what\n") == 2


def text_of(markup: str, between: str = " ") -> str:
    """The text, tags replaced by `between` ("" keeps highlighted code whole)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", between, markup)).split())


def test_the_aligned_view_shows_each_stage_its_note_and_both_apps_lines() -> None:
    """hello: the routes, the last route, the name, the answer, in the spec's order, each with its
    lines in both apps and their counts; the note beside its stage."""
    hello = spec().behaviour("hello")
    markup = aligned_section(hello)
    stages = markup.split('<section class="stage"')[1:]
    assert [re.search(r'class="kind">(\w+)<', part)[1] for part in stages] == [  # type: ignore[index]
        stage.kind for stage in hello.stages
    ]
    answer = text_of(stages[3])
    assert "The greeting as text/plain aiohttp 1 line · Django 1 line" in answer
    assert "Django's HttpResponse defaults to text/html" in answer
    code = text_of(stages[3], between="")
    assert 'return web.Response(text=f"Hello, {name}")' in code
    assert 'return HttpResponse(f"Hello, {name}", content_type="text/plain; charset=utf-8")' in code
    assert code.index("return web.Response") < code.index("return HttpResponse")
    alignment = align(hello)
    counts = " · ".join(
        f"{name}: {alignment.lines(app)} lines"
        for app, name in zip(APPS, ("aiohttp", "Django"), strict=True)
    )
    assert f"Lines of code (blank and comment lines aside): {counts}" in text_of(markup)
