"""Terminal rendering: highlighted code in two aligned panes, and the status tables."""

from __future__ import annotations

import itertools
import os
import re
import textwrap
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import IO

import pygments
from pygments.console import ansiformat
from pygments.formatters import TerminalFormatter
from pygments.lexers import PythonLexer
from pygments.token import _TokenType

from compare.cases import case_steps
from compare.play import Answer, align
from compare.report import Cell, Report, Result, cell, describe_run
from compare.source import Source
from shared.spec import Behaviour, Case, Spec

PANE_MIN = 80  # side by side only when both panes get at least this many columns
SEPARATOR = " │ "
SIDE_BY_SIDE_MIN = 2 * PANE_MIN + len(SEPARATOR)
PROSE_MAX = 100  # notes stay readable on a wide terminal
GUTTER = 6  # "  123 ": a line number, then a space
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_COLORS = {
    "pass": "green",
    "fail": "*red*",
    "xfail": "yellow",
    "partial": "yellow",
    "skipped": "yellow",
    "not-run": "gray",
}

type Fragment = tuple[_TokenType, str]


def use_color(stream: IO[str], mode: str = "auto") -> bool:
    """`always`, `never`, or `auto`: a tty, and neither NO_COLOR (no-color.org) nor TERM=dumb."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def visible_width(text: str) -> int:
    """Columns the text takes on a terminal: ANSI escapes take none, wide CJK characters two."""
    return sum(char_width(char) for char in ANSI.sub("", text))


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - visible_width(text))


class Painter:
    """Colours text with Pygments' console colours, or leaves it plain."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.formatter = TerminalFormatter(bg="dark")

    def __call__(self, text: str, attr: str) -> str:
        return ansiformat(attr, text) if self.color and text else text

    def code(self, fragments: Sequence[Fragment]) -> str:
        if not self.color:
            return "".join(text for _, text in fragments)
        return pygments.format(fragments, self.formatter)


def code_lines(code: str) -> list[list[Fragment]]:
    """Python source as lines of (token type, text), so that a line can be wrapped by width."""
    lines: list[list[Fragment]] = [[]]
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(code):
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((ttype, part))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def break_points(text: str, width: int) -> list[int]:
    """Offsets at which to cut `text` into pieces of at most `width` columns, after a space when
    one falls in the piece's second half, else where the columns run out."""
    cuts: list[int] = []
    start, used, space = 0, 0, -1
    for index, char in enumerate(text):
        size = char_width(char)
        if used + size > width and index > start:
            cut = space + 1 if space >= 0 and space + 1 - start > width // 2 else index
            cuts.append(cut)
            start, space = cut, -1
            used = sum(char_width(c) for c in text[start:index])
        if char == " ":
            space = index
        used += size
    return cuts


def wrap_fragments(fragments: Sequence[Fragment], width: int) -> list[list[Fragment]]:
    """Cut one line of (token type, text) fragments into pieces of at most `width` columns."""
    cuts = iter(break_points("".join(text for _, text in fragments), width))
    cut = next(cuts, None)
    pieces: list[list[Fragment]] = [[]]
    offset = 0
    for ttype, text in fragments:
        while cut is not None and offset + len(text) > cut:
            head, text = text[: cut - offset], text[cut - offset :]
            if head:
                pieces[-1].append((ttype, head))
            pieces.append([])
            offset, cut = cut, next(cuts, None)
        if text:
            pieces[-1].append((ttype, text))
        offset += len(text)
    return pieces


def render_code(code: str, start: int, width: int, paint: Painter) -> list[str]:
    """Numbered, highlighted lines; a line wider than the pane continues under a `↳`."""
    lines: list[str] = []
    for offset, fragments in enumerate(code_lines(code)):
        for index, piece in enumerate(wrap_fragments(fragments, max(20, width - GUTTER))):
            gutter = f"{start + offset:>5} " if index == 0 else "    ↳ "
            lines.append(paint(gutter, "gray") + paint.code(piece))
    return lines


def wrap_text(text: str, width: int, indent: str = "") -> list[str]:
    words = " ".join(text.split())
    lines = textwrap.wrap(
        words, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
    return lines or [indent]


@dataclass(frozen=True)
class Pane:
    """One app's column: its title, then each implementation with its route lines and code."""

    title: str
    sources: Sequence[Source]

    def render(self, width: int, paint: Painter) -> list[str]:
        lines = [paint(self.title, "**"), paint("─" * width, "gray")]
        for number, source in enumerate(self.sources):
            if number:
                lines.append("")
            for line in wrap_text(f"{source.ref}  ({source.location})", width):
                lines.append(paint(line, "*cyan*"))
            for route in source.routes:
                lines.append(paint(f"  route  {route.path}:{route.lineno}", "magenta"))
                for piece in wrap_fragments(code_lines(route.text)[0], max(20, width - GUTTER)):
                    lines.append(" " * GUTTER + paint.code(piece))
            lines.extend(render_code(source.code, source.start, width, paint))
        return lines


def side_by_side(left: list[str], right: list[str], width: int) -> Iterator[str]:
    for a, b in zip_longest(left, right, fillvalue=""):
        yield (pad(a, width) + SEPARATOR + b).rstrip()


def render_case(title: str, case: Case, spec: Spec, width: int, paint: Painter) -> list[str]:
    """A case under its title, each step on its own lines: what is sent, then `→` what must come
    back."""
    out = [paint(line, "*") for line in wrap_text(title, width)]
    steps = case_steps(case, spec)
    for step_number, step in enumerate(steps, 1):
        mark = f"{step_number}. " if len(steps) > 1 else ""
        sent = " · ".join(fragment.text() for fragment in step.request)
        expected = " · ".join(fragment.text() for fragment in step.expect)
        out += wrap_text(f"{mark}{sent}", width, "   ")
        if expected:
            out += [paint(line, "gray") for line in wrap_text(f"→ {expected}", width, "     ")]
    return out


def render_cases(behaviour: Behaviour, spec: Spec, width: int, paint: Painter) -> list[str]:
    """Every case of the behaviour, numbered."""
    out = ["", paint("Cases", "**")]
    for index, case in enumerate(behaviour.cases, 1):
        out += render_case(f"{index}. {case.name}", case, spec, width, paint)
    return out


def render_show(
    behaviour: Behaviour, spec: Spec, panes: Sequence[Pane], width: int, paint: Painter
) -> str:
    """The behaviour, its implementations in two columns (or stacked when narrow), its notes and
    its cases."""
    width = max(width, 40)
    head = wrap_text(f"{behaviour.id}  {behaviour.purpose}", min(width, PROSE_MAX))
    out = [paint(behaviour.id, "**") + head[0].removeprefix(behaviour.id), *head[1:]]
    out += [paint(line, "gray") for line in wrap_text(f"seed: {behaviour.seed}", width)]
    out.append("")
    if width >= SIDE_BY_SIDE_MIN:
        pane_width = (width - len(SEPARATOR)) // 2
        left, right = (pane.render(pane_width, paint) for pane in panes)
        out.extend(side_by_side(left, right, pane_width))
    else:
        for number, pane in enumerate(panes):
            if number:
                out.append("")
            out.extend(pane.render(width, paint))
    if behaviour.notes:
        out += ["", paint("What differs", "**")]
        for paragraph in behaviour.notes.strip().split("\n\n"):
            out += wrap_text(paragraph, min(width, PROSE_MAX))
    out += render_cases(behaviour, spec, min(width, PROSE_MAX + 20), paint)
    return "\n".join(out) + "\n"


def join_wrapped(items: Sequence[tuple[str, int]], sep: str, width: int) -> list[str]:
    """Join (text, visible width) items with `sep`, starting a new line where one would overflow."""
    lines: list[str] = []
    line, used = "", 0
    for text, size in items:
        if used and used + len(sep) + size > width:
            lines.append(line)
            line, used = "", 0
        line, used = (line + sep + text, used + len(sep) + size) if used else (text, size)
    return [*lines, line] if line else lines


def cell_text(value: Cell, paint: Painter, marks: str = "") -> tuple[str, int]:
    text = value.label + marks
    return paint(text, CELL_COLORS[value.kind]), len(text)


def footnote(result: Result) -> str:
    case = f"{result.target} {result.what}"
    if result.outcome == "xfailed":
        return f"expected failure, {case}: {result.reason}"
    if result.outcome == "xpassed":
        return f"unexpectedly PASSED, {case}: remove its entry in expected.toml ({result.reason})"
    detail = result.message.strip().splitlines()[-1] if result.message.strip() else "failed"
    return f"FAILED, {case}: {detail}"


def render_matrix(
    spec: Spec, report: Report, targets: Sequence[str], width: int, paint: Painter
) -> str:
    """Behaviours by targets; each xfail reason and failure as a numbered footnote."""
    notes: list[str] = []
    rows: list[list[tuple[str, int]]] = [
        [(paint("behaviour", "**"), 9)] + [(paint(t, "**"), len(t)) for t in targets]
    ]
    for behaviour in spec.behaviours:
        row = [(behaviour.id, len(behaviour.id))]
        for target in targets:
            value = cell(report, behaviour, target)
            marks = ""
            for result in value.notes:
                notes.append(footnote(result))
                marks += f"[{len(notes)}]"
            row.append(cell_text(value, paint, f" {marks}" if marks else ""))
        rows.append(row)
    widths = [max(row[i][1] for row in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(text + " " * (widths[i] - size) for i, (text, size) in enumerate(row)).rstrip()
        for row in rows
    ]
    if notes:
        out.append("")
        for number, text in enumerate(notes, 1):
            mark = f"[{number}] "
            lines = wrap_text(text, max(40, min(width, PROSE_MAX + 20)) - len(mark))
            out += [mark + lines[0], *(" " * len(mark) + line for line in lines[1:])]
    out.append("")
    out += [paint(line, "gray") for line in wrap_text(describe_run(report, targets), width)]
    return "\n".join(out) + "\n"


def render_list(
    spec: Spec, report: Report, targets: Sequence[str], width: int, paint: Painter
) -> str:
    """Every behaviour: id, purpose, seed concept and its status on each target."""
    id_width = max(len(b.id) for b in spec.behaviours) + 2
    indent = " " * id_width
    out: list[str] = []
    for behaviour in spec.behaviours:
        purpose = wrap_text(behaviour.purpose, max(40, width - id_width))
        out.append(paint(behaviour.id.ljust(id_width), "**") + purpose[0])
        out += [indent + line for line in purpose[1:]]
        out += [paint(line, "gray") for line in wrap_text(f"seed: {behaviour.seed}", width, indent)]
        items = []
        for target in targets:
            text, size = cell_text(cell(report, behaviour, target), paint)
            items.append((f"{target} {text}", len(target) + 1 + size))
        out += [indent + line for line in join_wrapped(items, " · ", width - id_width)]
        out.append("")
    out += [paint(line, "gray") for line in wrap_text(describe_run(report, targets), width)]
    return "\n".join(out) + "\n"


def cut(text: str, width: int) -> list[str]:
    """The text in pieces of at most `width` columns, spaces kept (a body's are part of it)."""
    points = [0, *break_points(text, width), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(points)] or [""]


OUTCOME_COLORS = {"passed": "green", "failed": "*red*", "xfailed": "yellow", "xpassed": "*red*"}
ROW_MARKS = {"same": ("  ", ""), "differs": ("≠ ", "yellow"), "varies": ("~ ", "gray")}


def render_try(
    behaviour: Behaviour,
    index: int,
    spec: Spec,
    answers: Sequence[Answer],
    width: int,
    paint: Painter,
) -> str:
    """A case played on each target: what it sends and expects, then the answers side by side,
    field by field (≠ where they differ, ~ where a value is new on every request), then whether
    each meets the spec."""
    width = max(width, 60)
    case = behaviour.cases[index]
    title = f"{behaviour.id} {index + 1}/{len(behaviour.cases)}: {case.name}"
    out = render_case(title, case, spec, min(width, PROSE_MAX + 20), paint)
    rows = align(answers)
    field_width = min(22, max([len(row.field) for row in rows] + [4]))
    column = max(20, (width - 2 - field_width - 1 - len(SEPARATOR)) // len(answers or [0, 0]))
    heads = [f"{answer.target} {answer.url}" for answer in answers]
    titles = SEPARATOR.join(pad(paint(head, "**"), column) for head in heads)
    out += ["", (" " * (2 + field_width + 1) + titles).rstrip()]
    for row in rows:
        if row.label:
            out.append(paint(row.label, "*cyan*"))
        mark, colour = ROW_MARKS[row.kind]
        pieces = [cut(value, column) for value in row.values]
        for number, line in enumerate(zip_longest(*pieces, fillvalue="")):
            name = row.field[:field_width] if number == 0 else ""
            head = (mark if number == 0 else "  ") + name.ljust(field_width) + " "
            cells = SEPARATOR.join(pad(paint(piece, colour), column) for piece in line)
            out.append((paint(head, colour) + cells).rstrip())
    words = [answer.verdict for answer in answers]
    spec_row = SEPARATOR.join(
        pad(paint(word, OUTCOME_COLORS[answer.outcome]), column)
        for word, answer in zip(words, answers, strict=True)
    )
    out.append(paint("  " + "spec".ljust(field_width) + " ", "**") + spec_row.rstrip())
    for answer in answers:
        if answer.message:
            out += wrap_text(f"{answer.target}: {answer.message}", width, "  ")
        if answer.reason:
            declared = f"{answer.target}: a declared difference (expected.toml): {answer.reason}"
            out += [paint(line, "yellow") for line in wrap_text(declared, width, "  ")]
    return "\n".join(out) + "\n"
