"""The tables of part 5: users and sessions (django_app: contrib.auth's and contrib.sessions')."""

from datetime import datetime

from sqlalchemy import DateTime, Identity, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aiohttp_app.data.models import Base, BigId, utc_now
from shared.runtime.accounts import USERNAME_MAX_CHARS


# Django's auth_user has more columns (email, names, is_staff, ...); these are the ones both
# apps use. `password` is the hash, in argon2's own encoding (Django prefixes it with "argon2").
class User(Base):
    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)  # (constraints..., options)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_CHARS), unique=True)
    password: Mapped[str] = mapped_column(String(128))
    date_joined: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


# Django's django_session, column for column: aiohttp_app/accounts/storage.py keeps
# aiohttp-session's sessions here when there is no Redis.
class SessionRecord(Base):
    __tablename__ = "sessions"

    session_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_data: Mapped[str] = mapped_column(Text)
    expire_date: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
