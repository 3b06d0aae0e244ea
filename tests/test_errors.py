"""The error catalogue: the project's loads, and a malformed one names the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.runtime.errors import catalogue, load_catalogue


def test_the_project_catalogue_loads_each_entry_knowing_its_code() -> None:
    assert catalogue()["not_found"].status == 404
    assert all(entry.code == code for code, entry in catalogue().items())


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        pytest.param('status = 200\nmessage = "Fine."', "from 400 to 599", id="success-status"),
        pytest.param('status = 404\ntext = "x"', "unknown field `text`", id="unknown-field"),
        pytest.param("status = 404", "missing required field `message`", id="no-message"),
    ],
)
def test_a_malformed_entry_names_the_file_and_the_entry(
    tmp_path: Path, entry: str, problem: str
) -> None:
    path = tmp_path / "errors.toml"
    path.write_text(f'[not_found]\nstatus = 404\nmessage = "x"\n\n[teapot]\n{entry}\n')
    with pytest.raises(ValueError, match=r"\[teapot\]") as raised:
        load_catalogue(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)
