"""The docs' tables of expected differences, as markdown rendered from the registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from shared.harness import nginx
from shared.harness.expected import Registry, What, lifecycle_checks
from shared.harness.http_rules import Rule
from shared.harness.targets import load_targets
from shared.spec import NEEDS, Spec

# A table lives in a document between `<!-- name:begin -->` and `<!-- name:end -->`.


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def block(text: str, name: str) -> str:
    """The table between the markers `name` in `text`; a ValueError if they are missing."""
    begin, end = markers(name)
    _, found, rest = text.partition(begin)
    current, found_end, _ = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"no {begin} ... {end} block")
    return current.strip()


def with_block(text: str, name: str, table: str) -> str:
    """`text` with the table between the markers `name` replaced by `table`."""
    begin, end = markers(name)
    block(text, name)
    before, _, rest = text.partition(begin)
    return f"{before}{begin}\n{table}\n{end}{rest.partition(end)[2]}"


def markdown_table(headers: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    """A Markdown table: its header row, the `---` row, then a row a line of `body`."""
    lines = [headers, ["---"] * len(headers), *body]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def code(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def case_key(case: str) -> tuple[int, ...]:
    """An Autobahn case id's sort key: 7.9.5 after 7.1.10."""
    return tuple(int(part) for part in case.split("."))


def needed_by(spec: Spec, need: str) -> str:
    """The spec's cases that need `need`: a behaviour's id where all its cases do."""
    found: list[str] = []
    for behaviour in spec.behaviours:
        ids = [behaviour.case_id(i) for i, c in enumerate(behaviour.cases) if need in c.needs]
        if ids and len(ids) == len(behaviour.cases):
            found.append(f"`{behaviour.id}` (every case)")
        elif ids:
            numbers = ", ".join(case_id.removeprefix(f"{behaviour.id}-") for case_id in ids)
            found.append(f"`{behaviour.id}` (case{'s' if len(ids) > 1 else ''} {numbers})")
    return ", ".join(found) or "no spec case"


def lacks_table(registry: Registry, spec: Spec) -> str:
    """What each target lacks: the spec's cases that need it, the tests marked with it, why."""
    rows = [
        [
            f"`{need}`",
            code(entry.targets),
            f'{needed_by(spec, need)}, and every test marked `@pytest.mark.needs("{need}")`',
            entry.why,
        ]
        for need in NEEDS
        for entry in registry.of("lacks")
        if entry.what.lacks == need
    ]
    return markdown_table(["need", "target", "what needs it", "why"], rows)


def describe(what: What, spec: Spec) -> str:
    if what.behaviour is not None and what.case is not None:
        behaviour = spec.behaviour(what.behaviour)
        index = [case.name for case in behaviour.cases].index(what.case)
        return f"`{behaviour.case_id(index)}` ({what.case})"
    return f"`{what.test}`"


def differences_table(registry: Registry, spec: Spec) -> str:
    """The spec cases and tests declared to differ; entries alike but for `what` share a row."""
    rows: dict[tuple[tuple[str, ...], str, str], list[str]] = {}
    for entry in registry.of("behaviour+case") + registry.of("test"):
        rows.setdefault((entry.targets, entry.kind, entry.why), []).append(
            describe(entry.what, spec)
        )
    lines = [
        ["<br>".join(whats), code(targets), kind, why]
        for (targets, kind, why), whats in rows.items()
    ]
    lacking = registry.of("lacks")
    if lacking:
        needs = code(entry.what.lacks or "" for entry in lacking)
        lacked_by = code(dict.fromkeys(t for entry in lacking for t in entry.targets))
        lines.append(
            [
                f"every case and test that needs {needs}",
                lacked_by,
                "strict",
                'declared once, for the target: see "What a target lacks" above',
            ]
        )
    return markdown_table(["what", "target", "kind", "why"], lines)


def server_answers_table(registry: Registry) -> str:
    """The requests a target answers its own way (the registry's `requests` entries): which,
    how, one example, why."""
    rows = []
    for entry in registry.of("requests"):
        assert entry.answer is not None and entry.example is not None
        answer = entry.answer
        body = "no body" if answer.body == "empty" else "its own body"
        if answer.code is not None:
            body = f"`{answer.code}`"
        request = entry.example.request()
        target = request.target
        if len(target) > 40:
            target = f"{target[:20]}… ({len(target):,} characters)"
        example = [f"`{request.method} {target}`"]
        example += [f"`{name}: {value}`" for name, value in request.headers]
        if request.body:
            example.append(f"body `{request.body!r}`")
        rows.append(
            [
                entry.what.requests or "",
                code(entry.targets),
                f"{entry.answer.status}, {body}",
                "<br>".join(example),
                entry.why,
            ]
        )
    return markdown_table(["requests", "target", "answer", "example", "why"], rows)


def lifecycle_cell(registry: Registry, target: str, check: str, needs: Iterable[str]) -> str:
    if (entry := registry.on(What(lifecycle=check), target)) is not None:
        return "no (see below)" if entry.strict else "either, by timing (see below)"
    if lacked := [need for need in registry.lacks(target) if need in set(needs)]:
        return f"no (lacks {', '.join(lacked)})"
    return "yes"


def lifecycle_table(registry: Registry, needs: Mapping[str, Iterable[str]]) -> str:
    """Each target by each lifecycle check; `needs` says what each check's test needs."""
    checks = list(lifecycle_checks())
    rows = [
        [f"`{target}`"]
        + [lifecycle_cell(registry, target, check, needs.get(check, ())) for check in checks]
        for target in load_targets()
    ]
    return markdown_table(["target", *checks], rows)


def conformance_table(registry: Registry, results: Mapping[str, Mapping[str, bool]]) -> str:
    """A run of Autobahn's cases (`results`: target -> case -> passed) and what is declared."""
    targets = load_targets()
    headers = ["target", "server", "cases", "passed (OK, NON-STRICT, INFORMATIONAL)"]
    headers += ["expected failures", "either, by timing"]
    rows: list[list[str]] = []
    for name in sorted(results, key=list(targets).index):
        declared = registry.autobahn(name)
        either = sorted((c for c, e in declared.items() if not e.strict), key=case_key)
        counted = {case: ok for case, ok in results[name].items() if case not in either}
        expected = code(sorted((c for c, e in declared.items() if e.strict), key=case_key))
        if registry.lacking(name, ["websocket"]):
            # What passes there is what Autobahn counts as passed without a websocket at all.
            failing = sum(not ok for ok in counted.values())
            expected = f"the other {failing}: it lacks websocket"
        rows.append(
            [
                f"`{name}`",
                targets[name].server,
                str(len(results[name])),
                str(sum(counted.values())),
                expected or "none",
                code(either) or "none",
            ]
        )
    return markdown_table(headers, rows)


def http_table(registry: Registry, rules: Sequence[Rule]) -> str:
    """Each HTTP/1.1 rule on each target: kept, or not (the registry says why: the next table)."""
    targets = list(load_targets())
    rows = []
    for rule in rules:
        cells = []
        for target in targets:
            entry = registry.on(What(http=rule.name), target)
            cells.append("yes" if entry is None else "**no**" if entry.strict else "either")
        rows.append([f"`{rule.name}`", rule.section, rule.level, *cells])
    return markdown_table(["rule", "RFC", "level", *(f"`{t}`" for t in targets)], rows)


def http_rules_table(rules: Sequence[Rule]) -> str:
    """What each rule requires, as http.toml says it."""
    return markdown_table(["rule", "what it requires"], [[f"`{r.name}`", r.says] for r in rules])


def http_differences_table(registry: Registry) -> str:
    """The rules a server does not keep: what it does instead, and where in its source."""
    rows = [[f"`{e.what.http}`", code(e.targets), e.why] for e in registry.of("http")]
    return markdown_table(["rule", "target", "what the server does instead, and where"], rows)


def hostile_table(registry: Registry, rules: Sequence[Rule]) -> str:
    """Who holds which hostile client for how long: each target's documented timeout (its
    `holds` in targets.toml), or **held**: for as long as the client keeps at it (the registry
    says why); then each app of the compose stack behind nginx (deploy/nginx.conf's bounds)."""
    targets = load_targets()
    behind = {target: nginx.holds(targets[target]) for target in nginx.BEHIND_NGINX.values()}
    rows = []
    for rule in rules:
        cells = []
        for name, target in targets.items():
            seconds = target.holds.get(rule.name)
            declared = registry.on(What(http=rule.name), name) is not None
            if rule.check == "served-meanwhile":
                cells.append("**no**" if declared else "yes")
            elif seconds is None:
                cells.append("**held**" if declared else "—")
            else:
                cells.append(f"{seconds:g} s" + (" (**no**)" if declared else ""))
        for holds in behind.values():  # tests/test_compose_stack.py checks every one
            cells.append("yes" if rule.check == "served-meanwhile" else f"{holds[rule.name]:g} s")
        rows.append([f"`{rule.name}`", rule.says, *cells])
    headers = [f"`{t}`" for t in targets] + [f"`{t}` behind nginx" for t in behind]
    return markdown_table(["client", "what it does", *headers], rows)
