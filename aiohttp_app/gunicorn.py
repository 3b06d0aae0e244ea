"""gunicorn hooks for the aiohttp-gunicorn target: `--config python:aiohttp_app.gunicorn`."""

import asyncio

from gunicorn.arbiter import Arbiter

# Every part's tables in the metadata create_schema_once() creates: part 5's users, part 6's
# wallets, transfers and audit events too (the app factory imports them only in each worker,
# after the fork).
import aiohttp_app.accounts.models
import aiohttp_app.patterns.models  # noqa: F401
from aiohttp_app.data.db import create_schema_once
from aiohttp_app.settings import configure_logging, from_env

configure_logging()  # in the arbiter, so every worker it forks inherits it


def on_starting(server: Arbiter) -> None:
    """Once, before the workers fork: each worker's create_all() then finds every table there."""
    asyncio.run(create_schema_once(from_env().database_url))
