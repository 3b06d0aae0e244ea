"""`{name}` variables in HTTP cases: the names a value uses, and their substitution."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from shared.runtime.openapi import read_document

# `{name}` in an HTTP case is replaced by a variable: `unique` (new for each run of a case, so
# that a case finds its own rows in a database it shares), `openapi_document` (the document the
# apps serve, parsed), or a value an earlier step saved.
VARIABLE = re.compile(r"[a-z_][a-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BUILTIN_VARIABLES = frozenset({"unique", "openapi_document"})


def builtin_variables() -> dict[str, Any]:
    """The built-in variables' values for one run of a case."""
    return {"unique": uuid.uuid4().hex[:12], "openapi_document": json.loads(read_document())}


def placeholders(value: object) -> set[str]:
    """The variable names used in a value: its strings, and those of its lists and tables."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(placeholders(item) for item in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(placeholders(item) for item in value))
    return set()


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace `{name}` in every string; a string that is only `{name}` takes the value's type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole[1] in variables:
            return variables[whole[1]]
        return PLACEHOLDER.sub(
            lambda match: str(variables[match[1]]) if match[1] in variables else match[0], value
        )
    if isinstance(value, Mapping):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value
