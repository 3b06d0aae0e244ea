"""The real source of a spec entry `module:qualname`, and the route lines that register it."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from shared.spec import Behaviour

# A package's route and wiring files are found by reading every module of the app package.
APP_PACKAGES = {"aiohttp": "aiohttp_app", "django": "django_app"}
SKIPPED_DIRS = frozenset({"migrations", "__pycache__"})
# The modules that wire handlers in (routes, URLconfs, websocket routing, the app factory, the
# ASGI application, settings): a reference from any other module (a view using a model) is a
# use, not a route line.
WIRING_MODULES = frozenset({"routes", "urls", "routing", "main", "asgi", "settings", "apps"})
# A route line is shown as the registration it is: without the type checker's pragma (and the
# reason after it), which a Channels route carries (django-stubs' path() takes views only).
TYPE_IGNORE = re.compile(r"\s+# type: ignore\[.*$")


class SourceError(LookupError):
    """A `module:qualname` entry that does not resolve to source code."""


@dataclass(frozen=True)
class RouteLine:
    """One line of an app module that registers (routes, mounts, installs) a handler."""

    path: str
    lineno: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}  {self.text}"


@dataclass(frozen=True)
class Source:
    """The source lines of one implementation entry, with where they live."""

    ref: str
    path: str  # relative to the directory that holds the top-level package
    start: int  # first line number, 1-based
    code: str  # the lines, dedented, ending in a newline
    routes: tuple[RouteLine, ...] = ()

    @property
    def end(self) -> int:
        return self.start + self.code.count("\n") - 1

    @property
    def location(self) -> str:
        return f"{self.path}:{self.start}-{self.end}"


def split_ref(ref: str) -> tuple[str, str]:
    module, sep, qualname = ref.partition(":")
    if not sep or not module or not qualname:
        raise SourceError(f"{ref!r}: expected 'package.module:qualname'")
    return module, qualname


def _import(module_name: str) -> ModuleType:
    if module_name.partition(".")[0] == "django_app":
        _setup_django()
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise SourceError(f"cannot import {module_name!r}: {error}") from error


@cache
def _setup_django() -> None:
    """Django modules that touch settings or the app registry need django.setup() first."""
    import django
    from django.apps import apps

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.config.settings")
    if not apps.ready:
        django.setup()


def _display_path(path: Path, module_name: str) -> str:
    """`aiohttp_app/views.py`: the path under the directory holding the top-level package."""
    top = importlib.import_module(module_name.partition(".")[0])
    root = Path(inspect.getfile(top)).resolve().parent.parent
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _with_comments(lines: list[str], start: int) -> int:
    """Move a 0-based start line up over the comment lines directly above it."""
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start


def _assignment_span(tree: ast.Module, name: str) -> tuple[int, int] | None:
    """1-based first and last line of the module-level statement that binds `name`."""
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, ast.TypeAlias):
            targets = [node.name]
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            assert node.end_lineno is not None
            return node.lineno, node.end_lineno
    return None


def _dedent(lines: list[str]) -> str:
    return textwrap.dedent("".join(line if line.endswith("\n") else line + "\n" for line in lines))


def unwrap(obj: object) -> object:
    """The function under decorators: `__wrapped__` (functools.cache, lru_cache, wraps), or a
    `func` the decorator keeps (a django.tasks Task, functools.partial)."""
    for _ in range(100):  # a chain of decorators, never a cycle
        if inspect.isclass(obj):
            return obj
        inner = getattr(obj, "__wrapped__", None)
        if inner is None and not inspect.isfunction(obj):
            inner = getattr(obj, "func", None)
        if not callable(inner):
            return obj
        obj = inner
    return obj


def resolve(ref: str) -> Source:
    """The source of `module:qualname`: a function, class or method, or a module-level name."""
    module_name, qualname = split_ref(ref)
    module = _import(module_name)
    obj: object = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SourceError(f"{ref}: {module_name} has no attribute {qualname!r}") from None
    target = unwrap(obj)
    if inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target):
        file = Path(inspect.getsourcefile(target) or inspect.getfile(target))
        lines, start = inspect.getsourcelines(target)
        all_lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        first = _with_comments(all_lines, start - 1)
        lines = all_lines[first : start - 1] + lines
        start = first + 1
        home = getattr(target, "__module__", module_name) or module_name
    else:
        # A module-level value (a list, a string, an AppKey): inspect has no source for it.
        if "." in qualname:
            raise SourceError(f"{ref}: only a function, class or method can be nested")
        file = Path(inspect.getfile(module))
        all_lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        span = _assignment_span(ast.parse("".join(all_lines), str(file)), qualname)
        if span is None:
            raise SourceError(f"{ref}: no module-level assignment to {qualname!r} in {file}")
        first = _with_comments(all_lines, span[0] - 1)
        lines, start = all_lines[first : span[1]], first + 1
        home = module_name
    return Source(
        ref=ref,
        path=_display_path(file, home),
        start=start,
        code=_dedent(lines),
        routes=route_lines(home, qualname.partition(".")[0]),
    )


@cache
def _app_modules(package: str) -> tuple[tuple[str, Path], ...]:
    """Every module of an app package, as (dotted name, file), in a stable order."""
    root = Path(inspect.getfile(importlib.import_module(package))).parent
    found: list[tuple[str, Path]] = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root.parent)
        if SKIPPED_DIRS & set(relative.parts):
            continue
        dotted = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        found.append((dotted, file))
    return tuple(found)


@dataclass(frozen=True)
class References:
    """What one module's code refers to, read once: its `from X import Y [as Z]` imports, and the
    lines of each `name.attribute`, each name read, and each string constant."""

    lines: tuple[str, ...]
    imports: tuple[tuple[str, str, str], ...]  # (module, name, bound as)
    attributes: Mapping[tuple[str, str], tuple[int, ...]]
    names: Mapping[str, tuple[int, ...]]
    strings: Mapping[str, tuple[int, ...]]


@cache
def references(file: Path) -> References:
    text = file.read_text(encoding="utf-8")
    imports: list[tuple[str, str, str]] = []
    attributes: dict[tuple[str, str], list[int]] = {}
    names: dict[str, list[int]] = {}
    strings: dict[str, list[int]] = {}
    for node in ast.walk(ast.parse(text, str(file))):
        match node:
            case ast.ImportFrom(module=str(module), level=0):
                imports += [(module, a.name, a.asname or a.name) for a in node.names]
            case ast.Attribute(value=ast.Name(id=used), attr=attr):
                attributes.setdefault((used, attr), []).append(node.lineno)
            case ast.Name(id=used, ctx=ast.Load()):
                names.setdefault(used, []).append(node.lineno)
            case ast.Constant(value=str(value)):
                strings.setdefault(value, []).append(node.lineno)
    return References(
        lines=tuple(text.splitlines()),
        imports=tuple(imports),
        attributes={key: tuple(found) for key, found in attributes.items()},
        names={key: tuple(found) for key, found in names.items()},
        strings={key: tuple(found) for key, found in strings.items()},
    )


@cache
def route_lines(module_name: str, name: str) -> tuple[RouteLine, ...]:
    """Lines of the app's wiring modules that refer to `module_name.name`.

    A reference is `views.hello` where `views` is that module imported, a bare name imported
    from it, or the dotted path as a string (Django's MIDDLEWARE, handler404). Imports do not count.
    """
    package = module_name.partition(".")[0]
    if package not in APP_PACKAGES.values():
        return ()
    found: list[RouteLine] = []
    for other, file in _app_modules(package):
        if other == module_name or other.rpartition(".")[2] not in WIRING_MODULES:
            continue
        refs = references(file)
        hits = set(refs.strings.get(f"{module_name}.{name}", ()))
        for module, imported, bound in refs.imports:
            if f"{module}.{imported}" == module_name:
                hits.update(refs.attributes.get((bound, name), ()))
            elif module == module_name and imported == name:
                hits.update(refs.names.get(bound, ()))
        path = _display_path(file, other)
        found.extend(
            RouteLine(path, lineno, TYPE_IGNORE.sub("", refs.lines[lineno - 1].strip()))
            for lineno in sorted(hits)
        )
    return tuple(found)


APP_TITLES = {"aiohttp": "aiohttp", "django": "Django (async views + Channels)"}


def implementations(behaviour: Behaviour) -> dict[str, tuple[Source, ...]]:
    """app -> the resolved sources of the behaviour's `implementations.<app>` entries."""
    return {
        app: tuple(resolve(ref) for ref in refs) for app, refs in behaviour.implementations.items()
    }
