"""The tables of part 2: the columns of django_app/data/models.py, under this app's own names."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Integer, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.runtime.data import timestamp

# Django's BigAutoField: a bigint identity on PostgreSQL. SQLite numbers new rows only through an
# INTEGER PRIMARY KEY (the rowid); AUTOINCREMENT (sqlite_autoincrement) never reuses an id.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


# Django names its tables data_item, data_counter, data_storedfile (app_model); these have the
# same columns under names of this app's own, so the two apps can even share one database.


class Item(Base):
    __tablename__ = "items"
    __table_args__ = ({"sqlite_autoincrement": True},)  # (constraints..., options)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "note": self.note,
            "created_at": timestamp(self.created_at),
        }


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = ({"sqlite_autoincrement": True},)  # (constraints..., options)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


class StoredFile(Base):
    __tablename__ = "stored_files"

    # A random id names the file on disk too: no two uploads, in either app, share a name.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "size": self.size, "sha256": self.sha256}
