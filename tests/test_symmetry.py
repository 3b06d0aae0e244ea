"""The two app trees mirror each other: same route names and handler names, in the same order."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from aiohttp.test_utils import make_mocked_request
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from aiohttp_app.main import create_app
from shared.spec import HttpCase, spec

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


def walk(patterns: Sequence[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    """Every URL pattern, includes expanded, in resolution order."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns)
        else:
            yield pattern


def websocket_urlpatterns() -> list[URLPattern]:
    from django_app.config.asgi import application

    validator = application.application_mapping["websocket"]
    assert isinstance(validator, OriginValidator)  # django_app.handshakes' subclass of it
    router = validator.application
    while not isinstance(router, URLRouter):  # AuthMiddlewareStack's middlewares, each `.inner`
        assert isinstance(router, BaseMiddleware | CookieMiddleware | SessionMiddleware)
        router = router.inner
    return [route for route in router.routes if isinstance(route, URLPattern)]


def consumer_to_handler(name: str) -> str:
    """EchoConsumer -> echo: a Channels consumer class and its aiohttp handler function."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Consumer")).lower()


def parts() -> list[str]:
    """The parts (basics, data, ...): a package of the same name in each app."""
    return sorted(p.parent.name for p in (ROOT / "aiohttp_app").glob("*/__init__.py"))


def test_each_part_exists_in_both_apps() -> None:
    assert parts(), "no parts found"
    for part in parts():
        assert (ROOT / "django_app" / part / "apps.py").exists(), f"django_app/{part} is missing"
    django_parts = {p.parent.name for p in (ROOT / "django_app").glob("*/apps.py")}
    assert django_parts == set(parts())


def test_routes_have_the_same_names_in_the_same_order() -> None:
    aiohttp_names = [name for r in create_app().router.resources() if (name := r.name)]
    http = list(walk(get_resolver().url_patterns))
    # Unnamed: config/asgi.py's last websocket route, the 404 for any other path.
    ws = [pattern for pattern in walk(websocket_urlpatterns()) if pattern.name]
    assert aiohttp_names == [pattern.name for pattern in http]
    # Each websocket route has an HTTP route of its name and path (426 for plain HTTP), in order:
    # one aiohttp route takes both.
    ws_paths = {pattern.name: str(pattern.pattern) for pattern in ws}
    assert {p.name: str(p.pattern) for p in http if p.name in ws_paths} == ws_paths
    assert [p.name for p in http if p.name in ws_paths] == list(ws_paths)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def aiohttp_routes() -> set[tuple[str, str, str]]:
    """(name, method, path) of every aiohttp route, a class view's once per method it defines;
    HEAD aside (served wherever GET is)."""
    found: set[tuple[str, str, str]] = set()
    for resource in create_app().router.resources():
        for route in resource:
            methods = [route.method]
            if route.method == "*":  # web.view: the View's methods (a decorated one's, unwrapped)
                view = inspect.unwrap(route.handler)
                methods = [m for m in METHODS if m != "HEAD" and hasattr(view, m.lower())]
            found |= {(resource.name or "", m, resource.canonical) for m in methods if m != "HEAD"}
    return found


def test_every_route_of_the_apps_is_declared_in_the_spec_and_no_other() -> None:
    """The spec's routes are the apps' (by name, method and path): the OpenAPI document and the
    generated requests cover every route. Django's names and order equal aiohttp's (above)."""
    declared = {(route.name, route.method, route.path) for route in spec().routes}
    assert declared == aiohttp_routes()
    websockets = {route.name for route in spec().routes if route.websocket}
    assert websockets == {pattern.name for pattern in websocket_urlpatterns() if pattern.name}


def spec_paths() -> list[str]:
    """Every path the spec's cases ask for, HTTP and websocket, but those with variables."""
    paths: set[str] = set()
    for case in (case for behaviour in spec().behaviours for case in behaviour.cases):
        if isinstance(case, HttpCase):
            paths.update(urlsplit(step.request.path).path for step in case.steps)
        else:
            paths.add(case.path)
    return sorted(path for path in paths if "{" not in path)


def django_route(path: str) -> str | None:
    try:
        return resolve(unquote(path)).url_name
    except Resolver404:
        return None


@pytest.mark.parametrize("path", spec_paths())
async def test_a_path_reaches_one_route_whatever_the_method_and_the_same_in_both_apps(
    path: str,
) -> None:
    """aiohttp's router passes a method a route does not take to the next route whose path
    matches (UrlDispatcher.resolve): GET /files would reach `/{name}`. Django resolves a path
    whatever the method."""
    router = create_app().router
    reached: set[str | None] = set()
    for method in METHODS:
        match = await router.resolve(make_mocked_request(method, path))
        if match.http_exception is None:
            reached.add(match.route.name)
    assert reached == ({route} if (route := django_route(path)) else set()), path


@pytest.mark.parametrize("part", parts())
def test_views_have_the_same_names_in_the_same_order(part: str) -> None:
    aiohttp_path = ROOT / "aiohttp_app" / part / "views.py"
    django_path = ROOT / "django_app" / part / "views.py"
    assert aiohttp_path.exists() == django_path.exists()  # a part may have no HTTP views
    if not aiohttp_path.exists():
        return
    aiohttp_views = top_level_names(aiohttp_path)
    django_views = top_level_names(django_path)
    assert [n for n in django_views if n not in DJANGO_ERROR_HANDLERS] == aiohttp_views


@pytest.mark.parametrize("part", parts())
def test_websocket_handlers_and_consumers_pair_up_in_order(part: str) -> None:
    handlers = ROOT / "aiohttp_app" / part / "websockets.py"
    consumers = ROOT / "django_app" / part / "consumers.py"
    assert handlers.exists() == consumers.exists()
    if handlers.exists():
        names = [consumer_to_handler(name) for name in top_level_names(consumers)]
        assert names == top_level_names(handlers)


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
