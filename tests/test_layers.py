"""The layers hold: import-linter's contracts are kept, live, and the apps start on the runtime."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.harness.targets import PROJECT_ROOT

PACKAGES = ("aiohttp_app", "django_app", "shared", "compare", "tests")
LAYERS_ABOVE_RUNTIME = ("shared.spec", "shared.harness", "tests", "compare")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))  # import-linter's command


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on the tree at `root`, with the project's contracts (pyproject.toml)."""
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    return root


def test_the_contracts_are_kept() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        pytest.param(
            "aiohttp_app/planted.py",
            "import shared.spec.loader\n",
            "the apps import only shared.runtime",
            id="an-app-imports-the-spec-loader",
        ),
        pytest.param(
            "django_app/planted.py",
            "import aiohttp_app.main\n",
            "neither app imports the other",
            id="an-app-imports-the-other",
        ),
        pytest.param(
            "shared/runtime/planted.py",
            "import shared.harness.targets\n",
            "the harness above the spec, the spec above the runtime",
            id="the-runtime-imports-the-harness",
        ),
        pytest.param(
            "shared/runtime/planted.py",
            "import shared.runtime.validation\n",
            "no import cycle",
            id="a-cycle-in-the-runtime",
        ),
    ],
)
def test_a_planted_forbidden_import_breaks_a_contract(
    copy_of_the_tree: Path, module: str, planted: str, contract: str
) -> None:
    path = copy_of_the_tree / module
    errors = copy_of_the_tree / "shared" / "runtime" / "errors.py"
    original = errors.read_text(encoding="utf-8")
    path.write_text('"""Planted by tests/test_layers.py."""\n\n' + planted, encoding="utf-8")
    if "cycle" in contract:  # validation imports errors: errors importing the planted module
        errors.write_text(original + "\nimport shared.runtime.planted  # noqa\n", encoding="utf-8")
    try:
        result = lint_imports(copy_of_the_tree)
    finally:
        path.unlink()
        errors.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout
    broken = result.stdout.partition("Broken contracts")[2]
    assert contract in " ".join(broken.split()), result.stdout


# Run in a fresh interpreter: which modules creating an app imports, and which files it opens.
PROBE = """
import json, os, sys
opened = []
sys.addaudithook(lambda event, args: event == "open" and opened.append(str(args[0])))
if sys.argv[1] == "aiohttp":
    from aiohttp_app.main import create_app
    create_app()
else:
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_app.config.settings"
    from django_app.config.asgi import application
from shared.runtime.errors import ApiError
ApiError("not_found")  # the first error: the catalogue is read
print(json.dumps({"modules": sorted(sys.modules), "opened": opened}))
"""


@pytest.mark.parametrize("app", ["aiohttp", "django"])
def test_creating_an_app_reads_no_behaviour_and_imports_only_the_runtime(app: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, app],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(result.stdout.splitlines()[-1])
    above = [m for m in seen["modules"] if m.startswith(LAYERS_ABOVE_RUNTIME)]
    assert not above, f"creating the {app} app imported {above}"
    assert "shared.runtime.errors" in seen["modules"]
    spec_dir = str(PROJECT_ROOT / "shared" / "spec")
    assert not [path for path in seen["opened"] if path.startswith(spec_dir)]
    assert str(PROJECT_ROOT / "shared" / "runtime" / "errors.toml") in seen["opened"]


def test_no_module_of_the_suite_imports_conftest() -> None:
    """conftest.py holds fixtures; what test modules import is in tests/plugins/."""
    for path in sorted((PROJECT_ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not [m for m in imported if m and m.split(".")[-1] == "conftest"], path
