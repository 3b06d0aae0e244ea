"""The guided path (compare/path.toml): the behaviours in a course order, what to notice in each,
and an exercise whose answer a test checks by making its change in a copy of the code."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from compare.source import resolve, split_ref
from shared.harness.targets import PROJECT_ROOT
from shared.spec import Behaviour, Spec, spec

PATH_FILE = Path(__file__).with_name("path.toml")
# The packages a changed copy holds, and the target each app's exercises are checked on.
COPIED = ("aiohttp_app", "django_app", "shared")
TARGETS = {"aiohttp_app": "aiohttp", "django_app": "django-uvicorn"}

type Line = Annotated[str, Meta(pattern=r"^[^\n]+$")]


class Exercise(Struct, frozen=True, forbid_unknown_fields=True):
    """Change `change` into `to` in `ref`'s source: the cases `fails` (their numbers) fail."""

    question: str
    ref: str  # module:qualname, one of the behaviour's implementations
    change: str  # found exactly once in that source
    to: str
    fails: Annotated[tuple[Annotated[int, Meta(ge=1)], ...], Meta(min_length=1)]
    answer: str  # why those cases fail, and only those

    @property
    def target(self) -> str:
        return TARGETS[split_ref(self.ref)[0].partition(".")[0]]


class Step(Struct, frozen=True, forbid_unknown_fields=True):
    behaviour: str
    title: Line  # the step's name on the path
    notice: str  # what to notice
    exercise: Exercise


class PathFile(Struct, frozen=True, forbid_unknown_fields=True):
    step: tuple[Step, ...]


class PathError(ValueError):
    """A malformed path: the file, the step and the field named."""


@dataclass(frozen=True)
class Course:
    """The path's steps, each with its behaviour."""

    steps: tuple[Step, ...]
    behaviours: tuple[Behaviour, ...]

    def position(self, behaviour_id: str) -> int:
        """The 0-based place of a behaviour on the path."""
        return next(n for n, b in enumerate(self.behaviours) if b.id == behaviour_id)


def check(steps: tuple[Step, ...], the_spec: Spec, where: Path) -> tuple[Behaviour, ...]:
    """Every behaviour of the spec once, in the path's order; each exercise's change found once in
    its source, its cases the behaviour's."""
    known = {b.id: b for b in the_spec.behaviours}
    seen: list[str] = []
    for number, step in enumerate(steps, 1):
        at = f"{where.name}: step {number} ({step.behaviour})"
        if step.behaviour not in known:
            raise PathError(f"{at}: behaviour: not in the spec")
        if step.behaviour in seen:
            raise PathError(f"{at}: behaviour: on the path twice")
        seen.append(step.behaviour)
        behaviour, exercise = known[step.behaviour], step.exercise
        refs = {ref for refs in behaviour.implementations.values() for ref in refs}
        if exercise.ref not in refs:
            raise PathError(f"{at}: exercise.ref: {exercise.ref} is none of its implementations")
        if exercise.ref.partition(".")[0] not in TARGETS:
            raise PathError(f"{at}: exercise.ref: change one app's code, not {exercise.ref}")
        if (found := source_text(exercise.ref).count(exercise.change)) != 1:
            raise PathError(f"{at}: exercise.change: found {found} times in {exercise.ref}")
        if bad := [n for n in exercise.fails if n > len(behaviour.cases)]:
            raise PathError(f"{at}: exercise.fails: it has no case {bad[0]}")
    if missing := [b for b in known if b not in seen]:
        raise PathError(f"{where.name}: step: no step for {', '.join(missing)}")
    return tuple(known[behaviour_id] for behaviour_id in seen)


@cache
def course(path: Path = PATH_FILE) -> Course:
    try:
        steps = msgspec.toml.decode(path.read_bytes(), type=PathFile).step
    except msgspec.ValidationError as error:
        raise PathError(f"{path.name}: {error}") from None
    return Course(steps, check(steps, spec(), path))


def span(ref: str, root: Path = PROJECT_ROOT) -> tuple[Path, int, int]:
    """The file of `ref` under `root`, and the 0-based slice of its lines that is the source."""
    source = resolve(ref)
    return root / source.path, source.start - 1, source.end


def source_text(ref: str, root: Path = PROJECT_ROOT) -> str:
    """The lines of `ref` as they stand in its file, indentation and all."""
    file, start, end = span(ref, root)
    return "".join(file.read_text(encoding="utf-8").splitlines(keepends=True)[start:end])


def changed_lines(exercise: Exercise) -> tuple[str, int, str, str]:
    """The whole lines the change touches: their file, first line number, before and after."""
    file, first, _ = span(exercise.ref)
    text = source_text(exercise.ref)
    at = text.index(exercise.change)
    start = text.rfind("\n", 0, at) + 1
    end = at + len(exercise.change)
    if not exercise.change.endswith("\n"):
        end = text.find("\n", end) + 1 or len(text)
    before = text[start:end]
    line = first + 1 + text.count("\n", 0, start)
    return (
        file.relative_to(PROJECT_ROOT).as_posix(),
        line,
        before,
        before.replace(exercise.change, exercise.to, 1),
    )


def changed_copy(exercise: Exercise, root: Path) -> Path:
    """The apps and shared/ copied into `root`, the exercise's change made there; its file."""
    for package in COPIED:
        shutil.copytree(
            PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    file, start, end = span(exercise.ref, root)
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = "".join(lines[start:end]).replace(exercise.change, exercise.to, 1)
    file.write_text("".join([*lines[:start], changed, *lines[end:]]), encoding="utf-8")
    return file
