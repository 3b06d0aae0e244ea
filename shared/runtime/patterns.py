"""Rules of part 6, patterns, that both apps apply, so that they answer alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.runtime.data import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, timestamp, whole_number
from shared.runtime.errors import ApiError
from shared.runtime.validation import Field, given_once

# The templates both apps render: Django's engine (settings.TEMPLATES) and aiohttp-jinja2 read
# the same files, written in the syntax the two engines share.
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PAGE_TEMPLATE = "items.html"
PAGE_ITEMS_MAX = 100  # the page lists at most this many items, by name


def parse_page_filter(values: Sequence[str]) -> str:
    """`?q=TEXT` for GET /items.html: the items whose name contains TEXT; none or "": all."""
    text = given_once(values, "q", default="") or ""
    if len(text) > 100 or "\x00" in text:  # PostgreSQL stores no NUL character in text
        raise ApiError("invalid_parameter", name="q", expected="at most 100 characters")
    return text


# GET /items/{id} through a cache: `X-Cache: miss` read from the database, `hit` from the cache.
# An update or delete removes the entry; an entry also expires after this long, the bound on how
# stale a read can be when an update races it (a read that began before the update may store
# the old item after the update removed it).
ITEM_CACHE_SECONDS = 60
CACHE_HEADER = "X-Cache"


def item_cache_key(item_id: int) -> str:
    return f"item:{item_id}"


# Wallets and transfers: whole amounts (cents, say) from 0 to WALLET_AMOUNT_MAX; ids, as items',
# of at most 18 digits (a 64-bit column).
WALLET_ID_MAX = 10**18 - 1
WALLET_AMOUNT_MAX = 999_999
WALLET_FIELDS = {"balance": Field(int, minimum=0, maximum=WALLET_AMOUNT_MAX)}
TRANSFER_FIELDS = {
    "from": Field(int, minimum=1, maximum=WALLET_ID_MAX),
    "to": Field(int, minimum=1, maximum=WALLET_ID_MAX),
    "amount": Field(int, minimum=1, maximum=WALLET_AMOUNT_MAX),
}


def check_transfer(fields: dict[str, Any]) -> tuple[int, int, int]:
    """(from, to, amount) of a checked transfer body; 400 when both name the same wallet."""
    if fields["from"] == fields["to"]:
        raise ApiError("invalid_field", field="to", problem="must name another wallet than 'from'")
    return fields["from"], fields["to"], fields["amount"]


def no_wallet(field: str) -> ApiError:
    """A transfer's `from` or `to` that names no wallet."""
    return ApiError("invalid_field", field=field, problem="names no wallet")


def parse_per_page(values: Sequence[str]) -> int:
    """`?per_page=N` for GET /items/pages/{number}: 1 to 100 items a page, 20 by default."""
    return whole_number(values, "per_page", 1, PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT)


def page_count(count: int, per_page: int) -> int:
    """How many pages `count` rows make, as Django's Paginator counts them (no orphans, and an
    empty first page allowed): never fewer than one."""
    return max(1, -(-count // per_page))


# The audit of an item's writes (behaviour `signals`): the events receivers record, the newest
# AUDIT_EVENTS_MAX of them, oldest first.
AUDIT_EVENTS_MAX = 100
CREATED, UPDATED, DELETED = "created", "updated", "deleted"
# A receiver of `item_changed` refuses the items whose name starts with this, so that a case can
# make one receiver fail, on its own item, and see the others run all the same.
REFUSED_NAME_PREFIX = "refused by a receiver"


class ReceiverRefused(Exception):
    """What that receiver raises: a failure the robust sending logs and the view survives."""


def audit_json(events: Sequence[tuple[str, datetime]]) -> dict[str, Any]:
    """GET /items/{id}/audit's answer from (event, at) pairs, oldest first."""
    return {"events": [{"event": event, "at": timestamp(at)} for event, at in events]}
