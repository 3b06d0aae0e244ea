"""The guided path (compare/path.toml): every behaviour once, and each exercise's answer checked by
making its change in a copy of the code, serving it, and playing the behaviour's cases."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from compare.path import PATH_FILE, PathError, Step, changed_copy, course, source_text
from compare.play import play
from shared.harness.targets import Server, load_targets
from shared.harness.upstream import SERVICE as UPSTREAM
from shared.spec import spec

STEPS = course().steps


def test_the_path_takes_every_behaviour_once() -> None:
    assert sorted(b.id for b in course().behaviours) == sorted(b.id for b in spec().behaviours)
    assert course().behaviours[0].id == "hello"


def broken(tmp_path: Path, old: str, new: str) -> PathError:
    text = PATH_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "path.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PathError) as raised:
        course(path)
    return raised.value


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('behaviour = "json"', 'behaviour = "jsn"', r"step 2 \(jsn\): behaviour: not in the spec"),
        ('behaviour = "json"', 'behaviour = "hello"',
         r"step 2 \(hello\): behaviour: on the path twice"),
        ('change = "await asyncio.sleep(seconds)"', 'change = "seconds"',
         r"step 3 \(delay\): exercise.change: found [2-9] times in aiohttp_app.basics.views:delay"),
        ("fails = [1, 3]", "fails = [1, 12]",
         r"step 3 \(delay\): exercise.fails: it has no case 12"),
        ('ref = "aiohttp_app.basics.views:delay"', 'ref = "aiohttp_app.basics.views:hello"',
         r"exercise.ref: aiohttp_app.basics.views:hello is none of its implementations"),
    ],
)  # fmt: skip
def test_a_malformed_path_names_the_step_and_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert re.search(message, str(broken(tmp_path, old, new)))


def test_a_path_without_a_behaviour_names_it(tmp_path: Path) -> None:
    text = PATH_FILE.read_text(encoding="utf-8")
    last = text.rindex("[[step]]")
    path = tmp_path / "path.toml"
    path.write_text(text[:last], encoding="utf-8")
    with pytest.raises(PathError, match="step: no step for ws-origin"):
        course(path)


def test_a_change_is_made_in_the_copy_only(tmp_path: Path) -> None:
    (step,) = [s for s in STEPS if s.behaviour == "hello"]
    file = changed_copy(step.exercise, tmp_path)
    changed = source_text(step.exercise.ref, tmp_path)
    assert step.exercise.to in changed and step.exercise.change not in changed
    original = source_text(step.exercise.ref)
    assert changed == original.replace(step.exercise.change, step.exercise.to)
    assert file == tmp_path / "aiohttp_app" / "basics" / "views.py"
    assert msgspec.toml.decode(PATH_FILE.read_bytes())  # the project's file is untouched


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The upstream service /fanout calls, for the servers of changed copies."""
    with Server(UPSTREAM) as server:
        yield server.base_url


def failing(step: Step, url: str) -> set[int]:
    """The behaviour's cases (numbers) that fail where nothing declares a difference."""
    behaviour = spec().behaviour(step.behaviour)

    async def play_all() -> set[int]:
        found: set[int] = set()
        for index in range(len(behaviour.cases)):
            unique = uuid.uuid4().hex[:12]
            answer = await play(spec(), behaviour, index, step.exercise.target, url, unique)
            if answer.outcome == "failed":
                found.add(index + 1)
        return found

    return asyncio.run(play_all())


@pytest.mark.parametrize("step", STEPS, ids=[step.behaviour for step in STEPS])
def test_each_exercise_s_change_fails_the_cases_it_names_and_only_those(
    step: Step, tmp_path: Path, upstream: str
) -> None:
    """The change made in a copy of the apps, served by the exercise's target: the cases the
    exercise names fail, every other case of the behaviour passes (or differs as declared)."""
    changed_copy(step.exercise, tmp_path / "copy")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "FILES_DIR": str(tmp_path / "files"),
        "UPSTREAM_URL": upstream,
    }
    target = load_targets()[step.exercise.target]
    log = tmp_path / "server.log"
    server = Server(target, env=env, root=tmp_path / "copy", log_path=log).start(timeout=60)
    try:
        assert failing(step, server.base_url) == set(step.exercise.fails), server.log_tail()
    finally:
        server.stop()
