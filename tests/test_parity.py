"""The parity matrix: every case of every behaviour in shared/spec/behaviours/, on every target."""

from __future__ import annotations

import pytest

from shared.harness.client import run_http_case, run_ws_case
from shared.spec import Case, HttpCase, spec
from tests.plugins.servers import Live, selected_targets

pytestmark = pytest.mark.parity


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_case[django-uvicorn-hello-2]`: target outside, then behaviour, then case number.
    What the case needs and its name mark it, for tests/plugins/expected.py."""
    params = [
        pytest.param(
            target,
            case,
            id=f"{target}-{behaviour.case_id(index)}",
            marks=[pytest.mark.needs(*case.needs), pytest.mark.spec_case(behaviour.id, case.name)],
        )
        for target in selected_targets(metafunc.config)
        for behaviour in spec().behaviours
        for index, case in enumerate(behaviour.cases)
    ]
    metafunc.parametrize(("target", "case"), params)


async def test_case(live: Live, case: Case) -> None:
    if isinstance(case, HttpCase):
        await run_http_case(spec(), live.base_url, case.on(live.name))
    else:
        await run_ws_case(spec(), live.ws_url, case)
