"""The two app trees mirror each other: same route names and handler names, in the same order."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.urls import URLPattern

from aiohttp_app.main import create_app
from django_app.behaviours import routing, urls
from shared.spec import spec

ROOT = Path(__file__).resolve().parent.parent
# Django calls these itself (handler400/404/500); aiohttp's middleware does their work.
DJANGO_ERROR_HANDLERS = {"bad_request", "not_found", "server_error"}


def top_level_names(path: Path) -> list[str]:
    """Functions and classes defined at the top of a module, in source order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


def consumer_to_handler(name: str) -> str:
    """EchoConsumer -> echo: a Channels consumer class and its aiohttp handler function."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Consumer")).lower()


def test_routes_have_the_same_names_in_the_same_order() -> None:
    aiohttp_names = [r.name for r in create_app().router.resources() if r.name]
    http_names = [p.name for p in urls.urlpatterns if isinstance(p, URLPattern)]
    ws_names = [p.name for p in routing.websocket_urlpatterns if isinstance(p, URLPattern)]
    assert sorted(aiohttp_names) == sorted(http_names + ws_names)
    assert [name for name in aiohttp_names if name in http_names] == http_names
    assert [name for name in aiohttp_names if name in ws_names] == ws_names


def test_views_have_the_same_names_in_the_same_order() -> None:
    aiohttp_views = top_level_names(ROOT / "aiohttp_app" / "views.py")
    django_views = top_level_names(ROOT / "django_app" / "behaviours" / "views.py")
    assert [n for n in django_views if n not in DJANGO_ERROR_HANDLERS] == aiohttp_views


def test_websocket_handlers_and_consumers_pair_up_in_order() -> None:
    handlers = top_level_names(ROOT / "aiohttp_app" / "websockets.py")
    consumers = top_level_names(ROOT / "django_app" / "behaviours" / "consumers.py")
    assert [consumer_to_handler(name) for name in consumers] == handlers


@pytest.mark.parametrize(
    ("app", "other"), [("aiohttp_app", "django_app"), ("django_app", "aiohttp_app")]
)
def test_no_app_imports_the_other(app: str, other: str) -> None:
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] == other for m in modules), f"{path} imports {other}"


def test_every_behaviour_names_both_apps() -> None:
    for behaviour in spec().behaviours:
        assert set(behaviour.implementations) == {"aiohttp", "django"}, behaviour.id
