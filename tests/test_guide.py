"""The decision guide (compare/guide.py): each need answered from the registry, the spec and the
bench results; every fact it states is the data's, and another result changes the answer."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from compare.bench import parts
from compare.bench import report as bench_report
from compare.bench.site import Bench
from compare.guide import GUIDE_FILE, GuideError, Need, answer, needs, recommendation
from compare.site import guide_page
from shared.harness.expected import expected
from shared.harness.targets import PROJECT_ROOT, load_targets

BENCH = Bench.find()
NEEDS = needs()


def test_the_guide_answers_the_needs_users_bring() -> None:
    assert [need.id for need in NEEDS] == [
        "websockets", "rooms", "long-polls", "uploads", "background", "shutdown", "wsgi",
        "throughput", "memory", "accounts",
    ]  # fmt: skip
    assert BENCH is not None, "docs/bench/results.json is committed"


@pytest.mark.parametrize("need", NEEDS, ids=[need.id for need in NEEDS])
def test_every_fact_the_guide_states_is_the_data_s(need: Need) -> None:
    """What each target lacks is the registry's; what it declares, the registry's entries about the
    need's cases, tests and checks; each figure the bench's median; the ranking in the figures'
    order; the recommendation one that can, with no declared difference where one has none."""
    found = answer(need, BENCH)
    registry = expected()
    for target in found.targets:
        name = target.target.name
        assert dict(target.lacks) == {
            n: why for n, why in registry.lacks(name).items() if n in need.needs
        }
        for entry in target.declared:
            assert name in entry.targets
            assert {entry.what.behaviour, entry.what.test, entry.what.lifecycle} & {
                *need.behaviours,
                *need.tests,
                *need.lifecycle,
            }
    assert BENCH is not None
    rows = {row.id: row for row in bench_report.rows(BENCH.results)}
    for name, figures in found.measured.items():
        for item, measured in figures.items():
            if measured.value is not None and item in rows:
                row = rows[item]
                number = bench_report.number(row.cells[name].median, row.primary)
                assert measured.text.startswith(number), (name, item)
    values = [value for _, value in found.ranking]
    ranked = [name for name, _ in found.ranking]
    assert values in (sorted(values), sorted(values, reverse=True))
    can = {t.target.name for t in found.targets if t.can}
    assert set(ranked) <= can, "only a target that can is ranked"
    clean = {t.target.name for t in found.targets if t.can and not t.declared}
    if need.only:
        assert found.pick == need.only[0]
    elif found.pick is not None:
        assert found.pick in can
        if clean & set(ranked):
            assert found.pick == next(n for n in ranked if n in clean)
        for said in found.sentences:
            for named in re.findall(r"`([a-z-]+)` cannot", said):
                assert named not in can


@pytest.mark.parametrize("test", [t for need in NEEDS for t in need.tests])
def test_the_tests_a_need_names_are_tests(test: str) -> None:
    """Checked here, not as the guide loads: the site is built where tests/ is not (compose)."""
    file, _, name = test.partition("::")
    assert f"def {name}(" in (PROJECT_ROOT / file).read_text(encoding="utf-8")


def test_a_need_with_no_data_gets_no_recommendation() -> None:
    (accounts,) = [need for need in NEEDS if need.id == "accounts"]
    found = answer(accounts, BENCH)
    assert found.pick is None
    assert recommendation(found) == "No recommendation: the data has nothing to choose by."
    assert "no data, and no recommendation" in found.sentences[0]


def test_other_bench_results_change_the_answer() -> None:
    """django-uvicorn made the fastest at ws-echo-50: with no declared difference in websockets,
    it becomes the recommendation; the guide holds no answer of its own."""
    assert BENCH is not None
    results = copy.deepcopy(BENCH.results)
    for measurement in results["measurements"]:
        if measurement["item"] == "ws-echo-50" and measurement["subject"] == "django-uvicorn":
            measurement["metrics"]["msgs_per_s"] *= 100
    (websockets,) = [need for need in NEEDS if need.id == "websockets"]
    assert answer(websockets, BENCH).pick == "aiohttp"
    found = answer(websockets, Bench(BENCH.directory, results))
    assert found.pick == "django-uvicorn"
    assert found.ranking[0][0] == "django-uvicorn"
    assert "and it ranks first" in recommendation(found)


def test_without_bench_results_the_guide_ranks_nothing_and_says_so() -> None:
    page = guide_page(None)
    assert "No bench results: the numbers are missing" in page
    (rooms,) = [need for need in NEEDS if need.id == "rooms"]
    found = answer(rooms, None)
    assert found.ranking == () and found.pick == "aiohttp"  # the first with nothing declared


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('behaviours = ["files"]', 'behaviours = ["file"]',
         "behaviours: 'file' is not in the spec"),
        ('lifecycle = ["idle-ping", "dead-peer-dropped"]', 'lifecycle = ["idle"]',
         "lifecycle: 'idle' is none of"),
        ('only = ["django-wsgi"]', 'only = ["wsgi"]', "only: 'wsgi' is not a target"),
    ],
)  # fmt: skip
def test_a_need_naming_what_the_data_lacks_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = GUIDE_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "guide.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(GuideError, match=re.escape(message)):
        needs(path)


def test_the_page_shows_each_need_its_recommendation_and_every_target() -> None:
    page = guide_page(BENCH)
    for need in NEEDS:
        section = page[page.index(f'<section class="need" id="{need.id}">') :]
        section = section[: section.index("</section>")]
        assert "Recommendation:" in section
        if need.needs or need.behaviours or need.lifecycle:
            for name in load_targets() if not need.only else need.only:
                assert f'id="{need.id}-{name}"' in section


def test_memory_per_member_from_parts_says_its_two_runs() -> None:
    """Taken in parts, chat-1000 and hello come from two runs: the ranking says so."""
    results = bench_report.load(PROJECT_ROOT / "docs" / "bench" / "results.json")
    chat = {
        **results, "part": "realtime", "started": "2099-01-01T00:00:00+00:00",
        "items": [i for i in results["items"] if i["id"] == "chat-1000"],
        "measurements": [m for m in results["measurements"] if m["item"] == "chat-1000"],
    }  # fmt: skip
    need = next(n for n in needs() if n.id == "memory")
    whole = answer(need, Bench(PROJECT_ROOT, results)).ranked_by
    assert whole.startswith("memory per websocket member") and "another run" not in whole
    merged = parts.merge(results, chat, None, ["headline", "realtime"])
    assert answer(need, Bench(PROJECT_ROOT, merged)).ranked_by.endswith(
        f", less `hello`'s peak from another run, of {results['started']}"
    )
