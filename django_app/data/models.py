"""The tables of part 2; aiohttp_app/data/models.py declares the same ones for SQLAlchemy."""

import uuid
from typing import Any

from django.db import models

from shared.runtime.data import timestamp


class Item(models.Model):
    name = models.CharField(max_length=100)
    note = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "note": self.note,
            "created_at": timestamp(self.created_at),
        }


class Counter(models.Model):
    name = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


class StoredFile(models.Model):
    # A random id names the file on disk too: no two uploads, in either app, share a name.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    media_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "size": self.size, "sha256": self.sha256}
