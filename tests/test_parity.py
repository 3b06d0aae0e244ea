"""The parity matrix: every case of every behaviour in shared/behaviours/, on every target."""

from __future__ import annotations

import pytest

from shared.spec import Case, HttpCase, spec
from tests.client import run_http_case, run_ws_case
from tests.conftest import Live, selected_targets

pytestmark = pytest.mark.parity


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`test_case[django-uvicorn-hello-2]`: target outside, then behaviour, then case number."""
    params = []
    for target in selected_targets(metafunc.config):
        for behaviour in spec().behaviours:
            for index, case in enumerate(behaviour.cases):
                reason = case.xfail.get(target)
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                params.append(
                    pytest.param(
                        target, case, id=f"{target}-{behaviour.case_id(index)}", marks=marks
                    )
                )
    metafunc.parametrize(("target", "case"), params)


async def test_case(live: Live, case: Case) -> None:
    if isinstance(case, HttpCase):
        await run_http_case(spec(), live.base_url, case)
    else:
        await run_ws_case(spec(), live.ws_url, case)
