"""The users table of part 5; django_app uses django.contrib.auth's User (auth_user)."""

from datetime import datetime

from sqlalchemy import DateTime, Identity, String
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
