"""The static site: an index with the matrix, and one page a behaviour with both apps' code."""

from __future__ import annotations

import difflib
import re
import shutil
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from compare import routes
from compare.bench import report as bench_report
from compare.bench.config import BenchConfig, BenchConfigError
from compare.bench.config import load as load_bench_config
from compare.bench.site import PAGE as BENCH_PAGE
from compare.bench.site import Bench, behaviour_section, overview_page
from compare.cases import Fragment, case_steps
from compare.guide import Answer, answer, needs, recommendation
from compare.path import Course, Step, changed_lines, course
from compare.report import (
    Cell,
    Report,
    Result,
    cell,
    describe_run,
    outcome_word,
    result_kind,
)
from compare.source import APP_TITLES, TYPE_IGNORE, RouteLine
from compare.stages import Chunk, align
from shared.harness.expected import expected as known_differences
from shared.harness.targets import PROJECT_ROOT, Target, load_targets
from shared.runtime.openapi import read_document
from shared.spec import Behaviour, Case, Spec, spec
from shared.spec.model import APPS, App

PYGMENTS_STYLE = "default"
APP_NAMES = {"aiohttp": "aiohttp", "django": "Django"}
PAGES_DIR = "behaviours"
API_PAGE = "api.html"
PATH_PAGE = "path.html"
GUIDE_PAGE = "guide.html"
RUN_SCRIPT = "run.js"  # the Run buttons' script, from compare/assets/
OPENAPI_FILE = "openapi.json"
CSS = """\
:root { --fg: #1d2125; --muted: #5c6670; --line: #d8dde2; --bg: #ffffff; --panel: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #b42318; --fail-bg: #ffe0dc;
  --xfail: #8a5a00; --xfail-bg: #fff1c2; --none: #5c6670; --none-bg: #eef1f4; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header.site { padding: .6rem 1.5rem; border-bottom: 1px solid var(--line);
  background: var(--panel); }
header.site a { color: inherit; font-weight: 600; text-decoration: none; }
main { max-width: 1600px; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: .4rem 0; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
a { color: #0b5cad; } code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
p code, li code, td code { background: var(--panel); padding: 0 .25em; border-radius: 3px; }
.muted, .run { color: var(--muted); }
.notice { background: var(--xfail-bg); border: 1px solid var(--line); border-radius: 6px;
  padding: .5rem .75rem; }
nav.pager { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .95rem; }
.purpose { font-size: 1.1rem; margin: .2rem 0; }
.seed { color: var(--muted); margin: .2rem 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--line); padding: .35rem .55rem; text-align: left;
  vertical-align: top; }
thead th { background: var(--panel); }
th small { display: block; font-weight: normal; color: var(--muted); }
.table-scroll { overflow-x: auto; }
.status { white-space: nowrap; font-weight: 600; }
.status a { color: inherit; }
@media (max-width: 800px) {
  table.matrix .about { display: none; }
  table.matrix .status { white-space: normal; }
}
.pass { color: var(--pass); background: var(--pass-bg); }
.fail { color: var(--fail); background: var(--fail-bg); }
.xfail, .partial, .skipped { color: var(--xfail); background: var(--xfail-bg); }
.not-run { color: var(--none); background: var(--none-bg); font-weight: normal; }
.badges { display: flex; flex-wrap: wrap; gap: .4rem; margin: .5rem 0 0; padding: 0;
  list-style: none; }
.badges li { border-radius: 4px; padding: .1rem .5rem; font-size: .9rem; }
ol.footnotes { font-size: .92rem; color: var(--muted); }
ol.footnotes li:target { background: var(--xfail-bg); }
/* The aligned view: a stage's lines in each app side by side, never wrapped when wide. */
.aligned .sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
  gap: .6rem; align-items: start; }
.aligned .sides.heads h3 { margin: .2rem 0 0; }
.aligned .stage { border-top: 1px solid var(--line); padding: .4rem 0 .6rem; }
.aligned .stage > h3 { margin: 0 0 .25rem; font-size: 1rem; }
.aligned .stage > h3 small { font-weight: normal; color: var(--muted); margin-left: .4rem; }
.aligned .kind { display: inline-block; min-width: 5.5rem; color: var(--muted);
  font-variant: small-caps; }
.aligned .note { margin: 0 0 .4rem 5.9rem; max-width: 70rem; font-size: .95rem; }
.aligned .line-counts { color: var(--muted); }
.aligned .ref { font-size: .85rem; }
.aligned .ref .app, .aligned .nothing .app { display: none; }
.aligned .nothing { color: var(--muted); font-size: .9rem; margin: .2rem 0; }
.aligned .chunk + .chunk { margin-top: .5rem; }
/* 10.5px: two lines of 100 characters (ruff's limit) side by side at 1,400 px. */
.aligned .highlight pre { white-space: pre; overflow-x: auto; font-size: 10.5px;
  padding: .35rem .35rem; }
.aligned .highlight .linenos { width: 1.9em; margin-right: .7em; }
@media (max-width: 1000px) {
  .aligned .sides { grid-template-columns: minmax(0, 1fr); }
  .aligned .sides.heads { display: none; }
  .aligned .ref .app, .aligned .nothing .app { display: inline; font-weight: 600; }
  .aligned .note { margin-left: 0; }
}
.ref { margin: 0 0 .3rem; font-size: .9rem; }
.ref .where { color: var(--muted); margin-left: .5rem; display: inline-block; }
.route { margin: 0 0 .3rem; font-size: .85rem; }
.route .where { color: var(--muted); display: block; }
.route code { display: block; background: var(--panel); padding: .2rem .5rem; border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.highlight { background: var(--panel); border-radius: 4px; }
.highlight pre { margin: 0; padding: .6rem .75rem; font-size: 13px; line-height: 1.45;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.highlight .linenos { display: inline-block; width: 2.2em; margin-right: 1em; text-align: right;
  color: #9aa4ad; user-select: none; text-indent: 0; }
.notes p { max-width: 60rem; }
table.cases tr[id] > td:first-child { text-align: right; color: var(--muted); }
table.cases tr.step > td { border-top-style: dashed; }
table.cases code { white-space: pre-wrap; overflow-wrap: anywhere; }
table.cases .step-no { color: var(--muted); }
table.tests .where { display: block; color: var(--muted); }
table.cases ul { margin: 0; padding-left: 1.1rem; }
button.run { display: block; margin: .3rem 0 0 auto; font: inherit; font-size: .8rem;
  padding: .05rem .5rem; cursor: pointer; }
button.run[hidden] { display: none; }
tr.ran > td { background: var(--panel); }
table.answers { margin: .2rem 0; background: var(--bg); }
table.answers th, table.answers td { padding: .2rem .45rem; font-size: .9rem; }
table.answers tbody th { font-weight: normal; color: var(--muted); white-space: nowrap; }
table.answers code { white-space: pre-wrap; overflow-wrap: anywhere; }
table.answers tr.differs > td { background: var(--fail-bg); }
table.answers tr.varies > td { color: var(--muted); }
ul.answer-notes { font-size: .9rem; }
section.path { border: 1px solid var(--line); border-radius: 6px; padding: .2rem 1rem .6rem;
  margin: 1rem 0; background: var(--panel); }
section.path h2 { margin: .6rem 0 .4rem; }
section.path pre.change { background: var(--bg); padding: .4rem .6rem; border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }
pre.change .del { color: var(--fail); } pre.change .ins { color: var(--pass); }
section.path details { margin-top: .4rem; }
ol.path-steps li { margin-bottom: .8rem; } ol.path-steps p { margin: .1rem 0; }
section.need { border-top: 1px solid var(--line); margin-top: 1.5rem; }
p.recommendation { font-size: 1.1rem; background: var(--pass-bg); padding: .4rem .7rem;
  border-radius: 6px; }
table.guide td, table.guide th { font-size: .92rem; }
ul.reasons p { margin: .15rem 0; font-size: .92rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .9rem; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 560px), 1fr));
  gap: 1rem; }
figure.plot { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
figure.plot img { display: block; max-width: 100%; height: auto; }
figure.plot figcaption { font-size: .85rem; color: var(--muted); }
table.bench td { white-space: nowrap; }
"""


def page(title: str, body: str, root: str, notice: str = "") -> str:
    """A page of the site; `notice` (HTML) stands above its body: a parity run under way."""
    banner = f'<p class="notice">{notice}</p>\n' if notice else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{root}style.css">
</head>
<body>
<header class="site"><a href="{root}index.html">async-web-parity</a>
<span class="muted">— the same behaviours in aiohttp and in Django, side by side</span></header>
<main>
{banner}{body}
<footer>Built by <code>python -m compare site</code> from the spec
(<code>shared/spec/behaviours/*.toml</code>), the apps' source and the parity report.</footer>
</main>
</body>
</html>
"""


def inline(text: str) -> str:
    """Escaped text whose `backquoted` spans become <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text, quote=False))


def prose(text: str) -> str:
    """Paragraphs (split at blank lines) with `code` spans, escaped."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]
    return "\n".join(f"<p>{inline(p)}</p>" for p in paragraphs)


def status_cell(value: Cell, notes: Mapping[int, Result], root: str = "") -> str:
    """A matrix cell: its label, each footnote linked, the reasons in the tooltip."""
    title = "; ".join(
        f"{outcome_word(r)} {r.name if r.test else f'case {r.case}'}: {r.reason or r.message}"
        for r in value.notes
    )
    links = "".join(
        f' <a href="{root}#fn-{number}">[{number}]</a>' for number, result in notes.items()
    )
    tip = f' title="{escape(title)}"' if title else ""
    return f'<td class="status {value.kind}"{tip}>{escape(value.label)}{links}</td>'


def footnote_text(result: Result) -> str:
    case = f"<code>{escape(result.target)}</code> {escape(result.what)}"
    if result.outcome == "xfailed":
        return f"Expected failure on {case}: {inline(result.reason)}"
    if result.outcome == "xpassed":
        why = inline(result.reason)
        return f"Unexpectedly passed on {case}; its entry in expected.toml should go: {why}"
    return f"Failed on {case}: <code>{escape(result.message or 'failed')}</code>"


def index_page(spec: Spec, report: Report, targets: Mapping[str, Target], notice: str = "") -> str:
    heads = "".join(
        f"<th>{escape(name)}<small>{escape(target.server)}</small></th>"
        for name, target in targets.items()
    )
    rows: list[str] = []
    footnotes: list[Result] = []
    for behaviour in spec.behaviours:
        cells = []
        for target in targets:
            value = cell(report, behaviour, target)
            numbered = {len(footnotes) + i + 1: r for i, r in enumerate(value.notes)}
            footnotes.extend(value.notes)
            cells.append(status_cell(value, numbered))
        rows.append(
            f'<tr><th><a href="{PAGES_DIR}/{behaviour.id}.html">{escape(behaviour.id)}</a></th>'
            f'<td class="about">{inline(behaviour.purpose)}</td>{"".join(cells)}</tr>'
        )
    notes = "".join(
        f'<li id="fn-{number}">{footnote_text(result)}</li>'
        for number, result in enumerate(footnotes, 1)
    )
    body = f"""<h1>The same behaviours in aiohttp and in Django</h1>
<p>Each behaviour below is written twice — in raw aiohttp and in Django (async views and
Channels) — and one test suite runs every case of the spec
(<code>shared/spec/behaviours/*.toml</code>) against every target. Open a behaviour to read the
two implementations side by side;
<a href="{BENCH_PAGE}">the measurements</a> compare their speed;
<a href="{API_PAGE}">the API</a> lists every route, as the OpenAPI document both apps serve.
New to async Python web? <a href="{PATH_PAGE}">Follow the guided path</a>: every behaviour in a
course order, with an exercise on each. Choosing? <a href="{GUIDE_PAGE}">The decision guide</a>
answers the usual needs from the data.</p>
<h2>Behaviours &times; targets</h2>
<p class="run">{escape(describe_run(report, list(targets)))}{left_out(targets)}</p>
<div class="table-scroll"><table class="matrix">
<thead><tr><th>behaviour</th><th class="about">purpose</th>{heads}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>
{f'<ol class="footnotes">{notes}</ol>' if notes else ""}
<p class="muted">pass: every case passed · xfail: a declared difference, with its reason ·
FAIL: a case failed (or an xfail passed) · not run: no result in the report, never a guess.</p>"""
    return page("async-web-parity: aiohttp and Django side by side", body, "", notice)


def left_out(targets: Mapping[str, Target]) -> str:
    """The registry's targets the site shows no column for, as the end of a sentence."""
    missing = [name for name in load_targets() if name not in targets]
    if not missing:
        return ""
    return (
        f"; no result yet for {escape(', '.join(missing))}"
        " (<code>make test</code> runs every target)"
    )


def fragments(found: Sequence[Fragment]) -> str:
    """Each thing sent or expected on its own line: its label, then its code."""
    return "<br>".join(
        " ".join(
            part
            for part in (escape(f.label), f"<code>{escape(f.code)}</code>" if f.code else "")
            if part
        )
        for f in found
    )


def outcome_cell(result: Result | None, attrs: str = "") -> str:
    """One test's outcome on one target, the xfail reason or the failure in its tooltip."""
    detail = (result.reason or result.message) if result else ""
    tip = f' title="{escape(detail)}"' if detail else ""
    word = escape(outcome_word(result))
    return f'<td{attrs} class="status {result_kind(result)}"{tip}>{word}</td>'


def run_button(number: int) -> str:
    """Shown by run.js when the site's server can run cases (`make run`'s can)."""
    return f'<button class="run" type="button" data-case="{number}" hidden>Run</button>'


def case_rows(index: int, case: Case, spec: Spec, results: Sequence[Result | None]) -> str:
    """One row a step (a multi-step case numbers them); number, name and outcomes span them."""
    steps = case_steps(case, spec)
    span = f' rowspan="{len(steps)}"' if len(steps) > 1 else ""
    rows = []
    for number, step in enumerate(steps, 1):
        label = f'<span class="step-no">{number}.</span> ' if len(steps) > 1 else ""
        cells = f"<td>{label}{fragments(step.request)}</td><td>{fragments(step.expect)}</td>"
        if number > 1:
            rows.append(f'<tr class="step">{cells}</tr>')
            continue
        outcomes = "".join(outcome_cell(result, span) for result in results)
        rows.append(
            f'<tr id="case-{index + 1}"><td{span}>{index + 1}{run_button(index + 1)}</td>'
            f"<td{span}>{escape(case.name)}</td>{cells}{outcomes}</tr>"
        )
    return "\n".join(rows)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def route_block(routes: Sequence[RouteLine]) -> str:
    return "".join(
        f'<div class="route"><span class="where">route · {escape(r.path)}:{r.lineno}</span>'
        f"<code>{highlight(r.text, PythonLexer(), HtmlFormatter(nowrap=True)).rstrip()}</code>"
        "</div>"
        for r in routes
    )


def chunk_block(chunk: Chunk, app: App, routes_shown: bool = False) -> str:
    """A stage's lines of one source, with their file's line numbers; where they open the source,
    its reference and (unless a route stage showed them) its route lines above them."""
    formatter = HtmlFormatter(style=PYGMENTS_STYLE, linenos="inline", linenostart=chunk.start)
    source = chunk.source
    head = f'<p class="ref"><span class="app">{escape(APP_NAMES[app])}</span> '
    if chunk.opens_source:
        head += f'<code>{escape(source.ref)}</code><span class="where">{escape(source.location)}'
        routes = "" if routes_shown else route_block(source.routes)
    else:
        lines = f"{chunk.start}-{chunk.end}" if chunk.end > chunk.start else f"{chunk.start}"
        head += f'<span class="where">{escape(source.path)}:{lines}'
        routes = ""
    head += "</span></p>"
    # As route lines are shown: without the type checker's pragmas, which would make a line too
    # long to sit beside the other app's.
    shown = "".join(TYPE_IGNORE.sub("", line) for line in chunk.code.splitlines(keepends=True))
    code = highlight(shown, PythonLexer(), formatter)
    return f'<div class="chunk">{head}{routes}{code}</div>'


def aligned_section(behaviour: Behaviour) -> str:
    """The two implementations stage by stage (the spec's [[behaviour.stage]]): each stage's title
    and note, then its lines in each app side by side."""
    alignment = align(behaviour)
    counts = " · ".join(
        f"{escape(APP_NAMES[app])}: {plural(alignment.lines(app), 'line')}" for app in APPS
    )
    parts = [
        f'<p class="line-counts">Lines of code (blank and comment lines aside): {counts}</p>',
        '<div class="sides heads">'
        + "".join(f"<h3>{escape(APP_TITLES[app])}</h3>" for app in APPS)
        + "</div>",
    ]
    # An app with no lines of its own in a route stage: the lines that route to its handlers.
    routed = {
        app: tuple(route for source in alignment.sources[app] for route in source.routes)
        for app in APPS
        if any(a.stage.kind == "route" and not a.chunks[app] for a in alignment.stages)
    }
    for number, aligned in enumerate(alignment.stages, 1):
        stage = aligned.stage
        lines = " · ".join(
            f"{escape(APP_NAMES[app])} {plural(aligned.lines(app), 'line')}" for app in APPS
        )
        sides = ""
        for app in APPS:
            inside = "".join(chunk_block(c, app, app in routed) for c in aligned.chunks[app])
            if not inside and stage.kind == "route" and routed.get(app):
                inside = route_block(routed[app])
            if not inside:
                inside = (
                    f'<p class="nothing"><span class="app">{escape(APP_NAMES[app])}</span>'
                    " nothing of its own here</p>"
                )
            sides += f'<div class="side {app}">{inside}</div>'

        note = f'<p class="note">{inline(stage.note)}</p>' if stage.note else ""
        parts.append(
            f'<section class="stage" id="stage-{number}"><h3><span class="kind">{stage.kind}</span>'
            f" {inline(stage.title)} <small>{lines}</small></h3>{note}"
            f'<div class="sides">{sides}</div></section>'
        )
    return f'<div class="aligned">{"".join(parts)}</div>'


def change_lines(before: str, after: str) -> str:
    """The lines of a change as a diff: `-` taken out, `+` put in, the rest as they are."""
    old, new = before.rstrip("\n").split("\n"), after.rstrip("\n").split("\n") if after else []
    marked: list[tuple[str, str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag == "equal":
            marked += [("same", " ", line) for line in old[i1:i2]]
            continue
        marked += [("del", "-", line) for line in old[i1:i2]]
        marked += [("ins", "+", line) for line in new[j1:j2]]
    return "".join(f'<span class="{k}">{m} {escape(line)}</span>\n' for k, m, line in marked)


def path_section(number: int, total: int, step: Step) -> str:
    """A behaviour's step on the guided path: what to notice, the exercise, its answer folded."""
    exercise = step.exercise
    cases = ", ".join(f'<a href="#case-{n}">{n}</a>' for n in exercise.fails)
    which = f"Case {cases}" if len(exercise.fails) == 1 else f"Cases {cases}"
    file, line, before, after = changed_lines(exercise)
    cut = min(len(text) - len(text.lstrip()) for text in before.splitlines() if text.strip())
    change = change_lines(
        "".join(text[cut:] for text in before.splitlines(keepends=True)),
        "".join(text[cut:] for text in after.splitlines(keepends=True)),
    )
    return f"""<section class="path" id="path">
<h2>On the path: step {number} of {total} · {inline(step.title)}</h2>
<p><strong>Notice.</strong> {inline(step.notice)}</p>
<p><strong>Exercise.</strong> {inline(exercise.question)}</p>
<p class="ref">In <code>{escape(exercise.ref)}</code>, {escape(file)}:{line}:</p>
<pre class="change">{change}</pre>
<details><summary>Answer</summary><p>{which}. {inline(exercise.answer)}</p>
<p class="muted"><code>tests/test_path.py</code> makes this change in a copy of the code, serves it
on {escape(exercise.target)} and plays every case: these fail, and only these.</p></details>
</section>"""


def guide_section(found: Answer) -> str:
    """One need: the recommendation, the facts it follows from, each target's row, the reasons."""
    need = found.need
    heads = "".join(
        f"<th>{escape(item)}<small>{escape(what)}</small></th>" for item, what in found.columns
    )
    rows = []
    for target in found.targets:
        name = target.target.name
        can = "yes" if target.can else "no: lacks " + ", ".join(target.lacks)
        declared = str(len(target.declared)) if target.declared else "none"
        figures = "".join(
            f"<td>{escape(found.measured[name][item].text)}</td>" for item, _ in found.columns
        )
        kind = "pass" if target.can and not target.declared else "xfail" if target.can else "fail"
        rows.append(
            f'<tr><th><a href="#{need.id}-{name}">{escape(name)}</a>'
            f"<small>{escape(target.target.server)}</small></th>"
            f'<td class="status {kind}">{escape(can)}</td><td>{declared}</td>{figures}</tr>'
        )
    reasons = "".join(
        f'<li id="{need.id}-{t.target.name}"><code>{escape(t.target.name)}</code>'
        + "".join(
            f"<p>lacks <code>{escape(n)}</code>: {inline(why)}</p>" for n, why in t.lacks.items()
        )
        + "".join(f"<p><em>{escape(str(e.what))}</em>: {inline(e.why)}</p>" for e in t.declared)
        + ("" if t.lacks or t.declared else "<p>nothing lacked, nothing declared here</p>")
        + "</li>"
        for t in found.targets
    )
    notes = "".join(
        f'<h4><a href="{PAGES_DIR}/{b}.html">{escape(b)}</a></h4>{prose(spec().behaviour(b).notes)}'
        for b in need.behaviours
    )
    facts = "".join(f"<li>{inline(sentence)}</li>" for sentence in found.sentences)
    table = ""
    if need.needs or need.behaviours or need.tests or need.lifecycle or found.columns:
        table = f"""<div class="table-scroll"><table class="guide">
<thead><tr><th>target</th><th>can</th><th>declared differences</th>{heads}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
<details><summary>Why: what each target lacks, and each difference declared here</summary>
<ul class="reasons">{reasons}</ul></details>"""
    if notes:
        table += f"<details><summary>What the spec's notes say</summary>{notes}</details>"
    return f"""<section class="need" id="{need.id}"><h2>{escape(need.question)}</h2>
<p class="recommendation"><strong>Recommendation:</strong> {inline(recommendation(found))}</p>
<ul class="facts">{facts}</ul>
{table}
</section>"""


def guide_page(bench: Bench | None) -> str:
    """The decision guide: every need of compare/guide.toml answered from the data."""
    answers = [answer(need, bench) for need in needs()]
    index = "".join(
        f'<li><a href="#{a.need.id}">{escape(a.need.question)}</a></li>' for a in answers
    )
    basis = "No bench results: the numbers are missing (<code>make bench</code> measures them)."
    if bench:
        where = bench.directory.as_posix()
        if bench.directory.is_relative_to(PROJECT_ROOT):
            where = bench.directory.relative_to(PROJECT_ROOT).as_posix()
        basis = (
            f'The numbers: <a href="{BENCH_PAGE}">the measurements</a>, from'
            f" <code>{escape(where)}/results.json</code> ({escape(bench.when)}):"
            f" {escape(bench_report.machine_line(bench.latest))}"
        )
    body = f"""<h1>Which to choose: a decision guide</h1>
<p>For each need a user brings to the choice, what each target does and the recommendation that
follows, rendered from the data alone: what each target lacks and every difference declared in
<code>shared/harness/expected.toml</code> (with its cause), the spec's cases and notes, and the
bench's results. A target is a framework under a server, as the suite runs it.</p>
<p class="muted">{basis}</p>
<ul class="needs">{index}</ul>
{"".join(guide_section(a) for a in answers)}"""
    return page("Which to choose: aiohttp and Django, a decision guide", body, "")


def path_page(the_course: Course) -> str:
    """The guided path: each behaviour in the course's order, its seed concept, what to notice."""
    items = "\n".join(
        f'<li><a href="{PAGES_DIR}/{b.id}.html#path">{inline(step.title)}</a>'
        f" <code>{escape(b.id)}</code>"
        f'<p class="seed">Seed concept: {inline(b.seed)}</p><p>{inline(step.notice)}</p></li>'
        for step, b in zip(the_course.steps, the_course.behaviours, strict=True)
    )
    body = f"""<h1>A guided path</h1>
<p>Every behaviour once, from a route to a chat room and the origin check that guards it. Each
page says what to notice in the two implementations, and asks an exercise: make a change to one
app's code and say which of the spec's cases fails. The answer is folded under it; the suite
checks it, by making the change in a copy of the code and playing the cases.</p>
<ol class="path-steps">
{items}
</ol>"""
    return page("A guided path: aiohttp and Django side by side", body, "")


def behaviour_page(
    behaviour: Behaviour,
    spec: Spec,
    report: Report,
    targets: Mapping[str, Target],
    neighbours: tuple[Behaviour | None, Behaviour | None],
    bench: Bench | None = None,
    bench_config: BenchConfig | None = None,
    notice: str = "",
    step: tuple[int, int, Step] | None = None,
) -> str:
    """`step`: its place on the guided path (number, of how many) and what it says there."""
    before, after = neighbours
    pager = [
        '<a href="../index.html">← all behaviours</a>',
        f'<a href="../{PATH_PAGE}">the guided path</a>',
    ]
    if before:
        pager.append(f'<a href="{before.id}.html">previous: {escape(before.id)}</a>')
    if after:
        pager.append(f'<a href="{after.id}.html">next: {escape(after.id)}</a>')
    badges = "".join(
        f'<li class="status {value.kind}" title="{escape(targets[name].server)}">'
        f"{escape(name)}: {escape(value.label)}</li>"
        for name in targets
        for value in [cell(report, behaviour, name)]
    )
    heads = "".join(f"<th>{escape(name)}</th>" for name in targets)
    rows = []
    for index, case in enumerate(behaviour.cases):
        results = [report.result(name, behaviour, index) for name in targets]
        rows.append(case_rows(index, case, spec, results))
    reasons = sorted(
        {
            (target, entry.why)
            for entry in known_differences().of("behaviour+case")
            if entry.what.behaviour == behaviour.id
            for target in entry.targets
        }
    )
    declared = "".join(
        f"<li><code>{escape(target)}</code>: {inline(reason)}</li>" for target, reason in reasons
    )
    if declared:
        declared = (
            "<p>Known differences of its cases (shared/harness/expected.toml):</p>"
            f'<ul class="xfails">{declared}</ul>'
        )
    body = f"""<nav class="pager">{"".join(pager)}</nav>
<h1><code>{escape(behaviour.id)}</code></h1>
<p class="purpose">{inline(behaviour.purpose)}</p>
<p class="seed"><strong>Seed concept:</strong> {inline(behaviour.seed)}</p>
<ul class="badges">{badges}</ul>
{path_section(*step) if step else ""}
<h2>The two implementations</h2>
{aligned_section(behaviour)}
<section class="notes"><h2>What differs, and why</h2>
{prose(behaviour.notes) if behaviour.notes else "<p>(no notes)</p>"}
</section>
<section class="bench" id="measured"><h2>Measured</h2>
{behaviour_section(bench, behaviour.id, bench_config)}
</section>
<h2>Cases</h2>
<p class="run-help muted">With <code>make run</code>, each case has a Run button here that plays
it on both apps and shows both answers; <code>python -m compare try {escape(behaviour.id)}</code>
does the same in a terminal.</p>
<div class="table-scroll"><table class="cases" data-behaviour="{escape(behaviour.id)}">
<thead><tr><th>#</th><th>case</th><th>request</th><th>expected</th>{heads}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>
{declared}
{other_tests(behaviour, report, targets)}
<p class="run">Defined in <code>{escape(spec_file(behaviour))}</code> ·
{escape(describe_run(report, list(targets)))}</p>
<script src="../{RUN_SCRIPT}" defer></script>"""
    return page(f"{behaviour.id}: aiohttp and Django side by side", body, "../", notice)


def other_tests(behaviour: Behaviour, report: Report, targets: Mapping[str, Target]) -> str:
    """The behaviour's tests outside the spec's cases, from the report: one row a test."""
    by_test: dict[str, dict[str, Result]] = {}
    for name in targets:
        for result in report.tests(name, behaviour):
            by_test.setdefault(result.test, {})[name] = result
    if not by_test:
        return ""
    heads = "".join(f"<th>{escape(name)}</th>" for name in targets)
    rows = "\n".join(
        f"<tr><td><code>{escape(test.partition('::')[2])}</code>"
        f'<small class="where">{escape(test.partition("::")[0])}</small></td>'
        + "".join(outcome_cell(results.get(name)) for name in targets)
        + "</tr>"
        for test, results in sorted(by_test.items())
    )
    return f"""<h2 id="tests">Other tests</h2>
<p>Tests outside the spec's cases that check this behaviour on each target, as the last run of
each recorded them.</p>
<div class="table-scroll"><table class="tests">
<thead><tr><th>test</th>{heads}</tr></thead>
<tbody>
{rows}
</tbody>
</table></div>"""


def spec_file(behaviour: Behaviour) -> str:
    try:
        return behaviour.source.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return behaviour.source.name


def api_page(the_spec: Spec) -> str:
    """Every route: what it does, its inputs, its answers and errors, by behaviour."""
    rows = []
    for behaviour in the_spec.behaviours:
        link = f'<a href="{PAGES_DIR}/{behaviour.id}.html">{escape(behaviour.id)}</a>'
        for route in behaviour.routes:
            rows.append(
                f"<tr><th><code>{escape(route.key)}</code>"
                f"{' (websocket)' if route.websocket else ''}</th><td>{link}</td>"
                f"<td>{inline(route.summary)}</td>"
                f"<td>{inline(routes.inputs(route))}</td>"
                f"<td>{escape(routes.answers(route))}</td>"
                f"<td><code>{escape(' '.join(route.implied_errors())) or '—'}</code></td></tr>"
            )
    body = f"""<h1>The API</h1>
<p>Every route of both apps, declared in the spec; both serve the same
<a href="{OPENAPI_FILE}">OpenAPI 3.1 document</a> at <code>GET /openapi.json</code>, which
schemathesis and the generated requests of the suite play on every target.</p>
<div class="table-scroll"><table>
<thead><tr><th>route</th><th>behaviour</th><th>what it does</th><th>inputs (? optional)</th>
<th>answers</th><th>errors</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table></div>"""
    return page("The API of both apps", body, "")


def bench_config(the_spec: Spec) -> BenchConfig | None:
    """bench.toml, which names the scenarios of a behaviour; None if it fits no spec."""
    try:
        return load_bench_config(the_spec)
    except (BenchConfigError, KeyError):
        return None


def shown_targets(report: Report) -> dict[str, Target]:
    """The registry's targets that have a result in the report, in its order; all of them when
    none has: a column of `not run` from top to bottom says nothing a line cannot."""
    ran = {result.target for result in report.results}
    registry = load_targets()
    return {name: target for name, target in registry.items() if name in ran} or registry


def stylesheet() -> str:
    highlighting: str = HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight")
    return CSS + "\n" + highlighting + "\n"


def build(
    out: Path,
    report: Report,
    the_spec: Spec | None = None,
    targets: Mapping[str, Target] | None = None,
    bench_dir: Path | None = None,
    notice: str = "",
) -> list[Path]:
    """Write index.html, style.css, api.html with openapi.json, and behaviours/<id>.html into
    `out`; return the pages. The bench's page (bench.html) and plots (bench/) come from
    `bench_dir`, var/bench or docs/bench. `notice` (HTML) stands on the pages that show statuses."""
    the_spec = the_spec or spec()
    targets = targets if targets is not None else shown_targets(report)
    pages_dir = out / PAGES_DIR
    pages_dir.mkdir(parents=True, exist_ok=True)
    (out / "style.css").write_text(stylesheet(), encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("assets") / RUN_SCRIPT, out / RUN_SCRIPT)
    written = [out / "index.html"]
    written[0].write_text(index_page(the_spec, report, targets, notice), encoding="utf-8")
    bench = Bench.find(bench_dir)
    config = bench_config(the_spec) if bench else None
    if bench:
        bench.copy_plots(out)
    (out / BENCH_PAGE).write_text(
        page("Measurements: aiohttp and Django side by side", overview_page(bench), ""),
        encoding="utf-8",
    )
    (out / API_PAGE).write_text(api_page(the_spec), encoding="utf-8")
    (out / OPENAPI_FILE).write_bytes(read_document())
    the_course = course()
    (out / PATH_PAGE).write_text(path_page(the_course), encoding="utf-8")
    (out / GUIDE_PAGE).write_text(guide_page(bench), encoding="utf-8")
    steps = {step.behaviour: step for step in the_course.steps}
    # In the path's order: previous and next are the path's.
    behaviours: Sequence[Behaviour] = sorted(
        the_spec.behaviours,
        key=lambda b: list(steps).index(b.id) if b.id in steps else len(steps),
    )
    for index, behaviour in enumerate(behaviours):
        neighbours = (
            behaviours[index - 1] if index else None,
            behaviours[index + 1] if index + 1 < len(behaviours) else None,
        )
        step = steps.get(behaviour.id)
        place = (list(steps).index(behaviour.id) + 1, len(steps), step) if step else None
        path = pages_dir / f"{behaviour.id}.html"
        path.write_text(
            behaviour_page(
                behaviour, the_spec, report, targets, neighbours, bench, config, notice, place
            ),
            encoding="utf-8",
        )
        written.append(path)
    for stale in set(pages_dir.glob("*.html")) - set(written):
        stale.unlink()  # a behaviour that left the spec
    return written
