"""The tables of part 6; aiohttp_app/patterns/models.py declares the same ones for SQLAlchemy."""

from typing import Any

from django.db import models


class Wallet(models.Model):
    balance = models.BigIntegerField()

    def __str__(self) -> str:
        return f"wallet {self.id}: {self.balance}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "balance": self.balance}


class Transfer(models.Model):
    source = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.amount} from {self.source_id} to {self.destination_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.source_id,
            "to": self.destination_id,
            "amount": self.amount,
        }


class AuditEvent(models.Model):
    # The item's id, not a foreign key: the audit outlives the item it tells of.
    item_id = models.BigIntegerField(db_index=True)
    event = models.CharField(max_length=16)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"item {self.item_id} {self.event}"
