"""A behaviour's two implementations aligned stage by stage, from the spec's [[behaviour.stage]]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compare.source import Source, implementations
from shared.spec import Behaviour
from shared.spec.model import APPS, App, Stage


class StageError(LookupError):
    """A stage whose line is not found, or found more than once, in an app's sources; or a
    source no stage starts in."""


@dataclass(frozen=True)
class Chunk:
    """Lines of one source: those of a stage in one app."""

    source: Source
    first: int  # 0-based offsets into source.code's lines, `last` excluded
    last: int
    opens_source: bool  # the source's first lines: its reference and route lines go above them

    @property
    def start(self) -> int:
        """The file's number of its first line."""
        return self.source.start + self.first

    @property
    def end(self) -> int:
        return self.source.start + self.last - 1

    @property
    def code(self) -> str:
        return "".join(self.source.code.splitlines(keepends=True)[self.first : self.last])

    @property
    def lines(self) -> int:
        return code_lines(self.code)


@dataclass(frozen=True)
class AlignedStage:
    """A stage, and each app's lines in it (none: the app does nothing of its own there)."""

    stage: Stage
    chunks: Mapping[App, tuple[Chunk, ...]]

    def lines(self, app: App) -> int:
        return sum(chunk.lines for chunk in self.chunks[app])


@dataclass(frozen=True)
class Alignment:
    """The stages in the spec's order, and each app's sources, which they share out."""

    stages: tuple[AlignedStage, ...]
    sources: Mapping[App, tuple[Source, ...]]

    def lines(self, app: App) -> int:
        """Every line of code the app writes for the behaviour (blank and comment lines aside)."""
        return sum(code_lines(source.code) for source in self.sources[app])


def code_lines(code: str) -> int:
    """Lines that are neither blank nor only a comment."""
    return sum(
        bool(line.strip()) and not line.lstrip().startswith("#") for line in code.split("\n")
    )


def find(
    behaviour: Behaviour, stage: Stage, app: App, sources: Sequence[Source]
) -> tuple[int, int]:
    """(source index, line offset) of the one line of `sources` that holds the stage's text."""
    text = stage.anchor(app)
    assert text is not None
    found = [
        (number, offset)
        for number, source in enumerate(sources)
        for offset, line in enumerate(source.code.splitlines())
        if text in line
    ]
    if len(found) != 1:
        where = ", ".join(f"{sources[n].path}:{sources[n].start + o}" for n, o in found)
        raise StageError(
            f"{behaviour.source.name}: behaviour {behaviour.id!r}, stage {stage.kind!r}"
            f" ({stage.title}): {app} = {text!r} is on {len(found)} lines of its"
            f" implementations, not one{f' ({where})' if where else ''}"
        )
    return found[0]


def align(behaviour: Behaviour) -> Alignment:
    """Each stage's lines in each app: from its line to the next stage's in the same source;
    every source of the implementations is in a stage."""
    sources = implementations(behaviour)
    chunks: dict[int, dict[App, list[Chunk]]] = {
        index: {app: [] for app in APPS} for index in range(len(behaviour.stages))
    }
    for app in APPS:
        mine = sources.get(app, ())
        starts: dict[int, list[tuple[int, int]]] = {}  # source -> [(offset, stage index)]
        for index, stage in enumerate(behaviour.stages):
            if stage.anchor(app) is not None:
                number, offset = find(behaviour, stage, app, mine)
                starts.setdefault(number, []).append((offset, index))
        for number, found in starts.items():
            found.sort()
            total = len(mine[number].code.splitlines())
            ends = [offset for offset, _ in found[1:]] + [total]
            for position, ((offset, index), end) in enumerate(zip(found, ends, strict=True)):
                first = 0 if position == 0 else offset
                chunks[index][app].append(Chunk(mine[number], first, end, position == 0))
        if missing := [source.ref for n, source in enumerate(mine) if n not in starts]:
            raise StageError(
                f"{behaviour.source.name}: behaviour {behaviour.id!r}: no stage starts in"
                f" {app}'s {', '.join(missing)}: give it a [[behaviour.stage]]"
            )
    return Alignment(
        stages=tuple(
            AlignedStage(stage, {app: tuple(chunks[index][app]) for app in APPS})
            for index, stage in enumerate(behaviour.stages)
        ),
        sources={app: sources.get(app, ()) for app in APPS},
    )
