"""Pytest plugin: each test on each target marked with what shared/harness/expected.toml says."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from shared.harness.expected import Registry, What, expected
from shared.spec import NEEDS


def whats(item: pytest.Item) -> list[What]:
    """What the registry may name a test by, first found first: its spec case
    (@pytest.mark.spec_case), its lifecycle check (@pytest.mark.lifecycle), its HTTP rule
    (@pytest.mark.http_rule), its node id."""
    found: list[What] = []
    if marker := item.get_closest_marker("spec_case"):
        found.append(What(behaviour=marker.args[0], case=marker.args[1]))
    if marker := item.get_closest_marker("lifecycle"):
        found.append(What(lifecycle=marker.args[0]))
    if marker := item.get_closest_marker("http_rule"):
        found.append(What(http=marker.args[0]))
    found.append(What(test=item.nodeid.partition("[")[0]))
    return found


def needs_of(item: pytest.Item) -> set[str]:
    """What a test declares with @pytest.mark.needs(...) (on it, its class, module or parameter)."""
    return {need for marker in item.iter_markers("needs") for need in marker.args}


def marks(
    registry: Registry, target: str, needs: Iterable[str], named: Iterable[What]
) -> list[pytest.MarkDecorator]:
    """A strict xfail where `target` lacks one of `needs` (with the `lacking` mark: the server
    is restarted after, if it no longer answers); else the first difference declared for one of
    `named`: a strict xfail, or a non-strict one where it is timing-dependent; else nothing."""
    if lacking := registry.lacking(target, needs):
        return [pytest.mark.xfail(reason=lacking, strict=True), pytest.mark.lacking]
    for what in named:
        if (entry := registry.on(what, target)) is not None:
            return [pytest.mark.xfail(reason=entry.why, strict=entry.strict)]
    return []


@pytest.hookimpl(tryfirst=True)  # before the parity report reads the marks
def pytest_itemcollected(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        if unknown := [need for need in marker.args if need not in NEEDS]:
            raise pytest.UsageError(
                f"{item.nodeid}: unknown need {unknown[0]!r} in @pytest.mark.needs;"
                f" known: {', '.join(NEEDS)}"
            )
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("target") if callspec is not None else None
    if isinstance(target, str):
        for mark in marks(expected(), target, needs_of(item), whats(item)):
            item.add_marker(mark)


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        f"needs(*names): what the test needs of its target, of {', '.join(NEEDS)}; on a target"
        " that lacks one (shared/harness/expected.toml) it is a strict xfail with its reason",
        "lacking: set where the target lacks what the test needs (tests/plugins/expected.py)",
        "spec_case(behaviour, name): the spec case a test plays, as expected.toml names it",
        "lifecycle(check): the lifecycle check a test makes, as expected.toml names it",
        "http_rule(name): the HTTP conformance rule a test checks (http.toml), as expected.toml"
        " names it",
    ):
        config.addinivalue_line("markers", line)
