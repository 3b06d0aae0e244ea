"""The OpenAPI document both apps serve at GET /openapi.json: shared/spec/openapi.py writes it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
MEDIA_TYPE = "application/json"


@cache
def read_document() -> bytes:
    """The document's bytes, read once per process."""
    return DOCUMENT_PATH.read_bytes()
