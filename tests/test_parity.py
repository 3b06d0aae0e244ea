"""The parity matrix: every case of every behaviour in shared/spec/behaviours/, on every target."""

from __future__ import annotations

import pytest

from shared.harness.client import run_http_case, run_ws_case
from shared.spec import Case, HttpCase, spec
from tests.conftest import Live, selected_targets, target_param

pytestmark = pytest.mark.parity


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_case[django-uvicorn-hello-2]`: target outside, then behaviour, then case number.
    A strict xfail where the target lacks what the case needs, or the case declares it."""
    params = [
        target_param(
            target,
            case,
            needs=case.needs,
            known=case.xfail.get(target),
            id=f"{target}-{behaviour.case_id(index)}",
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
