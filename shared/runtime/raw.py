"""Behaviour `raw-async-db`: the SQL both apps send through a driver, and its rows as JSON."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.runtime.data import timestamp


def items_sql(table: str, limit: str) -> str:
    """The first items by id, as GET /items reads them; `limit` is the driver's placeholder."""
    return f"SELECT id, name, note, created_at FROM {table} ORDER BY id LIMIT {limit}"


def count_sql(table: str) -> str:
    return f"SELECT count(*) FROM {table}"


def item_json(row: Iterable[Any]) -> dict[str, Any]:
    """A row as GET /items answers an item. SQLite keeps a time as text, which its driver hands
    back as it is; PostgreSQL's drivers hand back a datetime."""
    item_id, name, note, created_at = row
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at)
    return {"id": item_id, "name": name, "note": note, "created_at": timestamp(created_at)}
