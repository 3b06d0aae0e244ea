"""The tables of part 6: django_app/patterns/models.py's columns, under this app's own names."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from aiohttp_app.data.models import Base, BigId, utc_now


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = ({"sqlite_autoincrement": True},)  # (constraints..., options)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "balance": self.balance}


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = ({"sqlite_autoincrement": True},)

    # In the order of Django's migration, which adds the foreign keys last.
    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    # Django's foreign key to a BigAutoField: a bigint, on SQLite too (BigId is for primary keys).
    destination_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("wallets.id"), index=True)
    source_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("wallets.id"), index=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.source_id,
            "to": self.destination_id,
            "amount": self.amount,
        }


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    # The item's id, not a foreign key: the audit outlives the item it tells of.
    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
