"""Part 5's rules both apps apply: usernames, passwords, and how a sign-up is refused."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import secrets
import string
import time
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from shared.runtime.errors import ApiError
from shared.runtime.validation import Field

USERNAME_MAX_CHARS = 150  # Django's User.username
PASSWORD_MIN_CHARS = 8  # Django's MinimumLengthValidator's default
PASSWORD_MAX_CHARS = 128  # a password longer than this is refused before it is hashed
# Django's UnicodeUsernameValidator: letters, digits and @ . + - _ (Unicode letters and digits).
USERNAME_PATTERN = re.compile(r"[\w.@+-]+\Z")
USERNAME_PROBLEM = "may hold only letters, digits and @ . + - _"
# Django's CommonPasswordValidator reads this file too (its password_list_path, in
# django_app/config/settings.py): a copy of the list Django ships (django/contrib/auth/
# common-passwords.txt.gz, 20,000 passwords by Royce Williams), so both apps refuse the same ones.
COMMON_PASSWORDS_PATH = Path(__file__).with_name("common-passwords.txt.gz")
# Django's password validators' codes -> the problem both apps name in invalid_field.
PASSWORD_PROBLEMS: Mapping[str, str] = {
    "password_too_short": f"must be at least {PASSWORD_MIN_CHARS} characters long",
    "password_too_common": "is too common",
}
# Argon2id's cost, as Django's Argon2PasswordHasher sets it (time_cost, memory_cost in KiB,
# parallelism): aiohttp_app's argon2-cffi PasswordHasher takes the same, so a sign-up or a log-in
# costs the same CPU and memory in both apps.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST = 102400
ARGON2_PARALLELISM = 8

ACCOUNT_FIELDS: Mapping[str, Field] = {
    "username": Field(str, min_length=1, max_length=USERNAME_MAX_CHARS),
    "password": Field(str, min_length=1, max_length=PASSWORD_MAX_CHARS),
}


def normalize_username(username: str) -> str:
    """NFKC, as Django's AbstractBaseUser.normalize_username: a name in fullwidth letters
    and the same in ASCII are one."""
    return unicodedata.normalize("NFKC", username)


def check_username_length(username: str) -> None:
    """A normalized name is still 1 to 150 characters (NFKC may make one longer)."""
    if not 1 <= len(username) <= USERNAME_MAX_CHARS:
        problem = f"must be 1 to {USERNAME_MAX_CHARS} characters long"
        raise ApiError("invalid_field", field="username", problem=problem)


def username_refused() -> ApiError:
    """The 400 for a name with other characters (Django: its username validator refused it)."""
    return ApiError("invalid_field", field="username", problem=USERNAME_PROBLEM)


def check_username(username: str) -> str:
    """The name normalized, 1 to 150 of letters, digits and @ . + - _; django_app has Django's
    own normalize_username and UnicodeUsernameValidator do this."""
    normalized = normalize_username(username)
    check_username_length(normalized)
    if not USERNAME_PATTERN.match(normalized):
        raise username_refused()
    return normalized


def password_refused(code: str) -> ApiError:
    """The 400 for a password a validator refused, by the validator's code."""
    return ApiError("invalid_field", field="password", problem=PASSWORD_PROBLEMS[code])


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def check_password(password: str) -> None:
    """Django's MinimumLengthValidator, then its CommonPasswordValidator, on the same list:
    django_app runs Django's own (validate_password, AUTH_PASSWORD_VALIDATORS)."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise password_refused("password_too_short")
    if password.lower().strip() in common_passwords():
        raise password_refused("password_too_common")


ME_ITEMS_MAX = 20  # GET /me/items: the first items, as GET /items's first page

# Sessions: the cookie's name and life, as Django's defaults (SESSION_COOKIE_NAME,
# SESSION_COOKIE_AGE: two weeks, or SESSION_MAX_AGE seconds); HttpOnly and SameSite=Lax in both,
# Secure where SESSION_COOKIE_SECURE=1 (behind TLS).
SESSION_COOKIE_NAME = "sessionid"
SESSION_MAX_AGE = 14 * 24 * 60 * 60
SESSION_KEY_CHARS = string.ascii_lowercase + string.digits
SESSION_KEY_PATTERN = re.compile(r"[a-z0-9]{32}")


def new_session_key() -> str:
    """32 random characters from a-z and 0-9, a key of the form Django's sessions have."""
    return "".join(secrets.choice(SESSION_KEY_CHARS) for _ in range(32))


def cookie_secure(env: Mapping[str, str] = os.environ) -> bool:
    """SESSION_COOKIE_SECURE=1: the cookies are sent over TLS only."""
    return env.get("SESSION_COOKIE_SECURE", "") == "1"


def session_max_age(env: Mapping[str, str] = os.environ) -> int:
    """SESSION_MAX_AGE: the seconds a session lives (two weeks by default); Django's
    SESSION_COOKIE_AGE, aiohttp-session's max_age."""
    return int(env.get("SESSION_MAX_AGE", SESSION_MAX_AGE))


# Log-ins (behaviour login-throttle): LOGIN_ATTEMPTS for one username within a window of
# LOGIN_WINDOW_SECONDS opened by the first; past them, every log-in for that name is 429 until the
# window closes, and one that succeeds starts the count again. LOGIN_WINDOW_SECONDS in the
# environment sets another window (the generated requests' servers: longer than their run).
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_SECONDS = 60


def login_window(env: Mapping[str, str] = os.environ) -> int:
    """LOGIN_WINDOW_SECONDS: how long the window the first log-in for a name opens lasts."""
    return int(env.get("LOGIN_WINDOW_SECONDS", LOGIN_WINDOW_SECONDS))


def login_key(username: str) -> str:
    """Where a name's log-ins are counted: a digest, so that any name the body holds (a space,
    a lone surrogate) is a key every store takes, of one length."""
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
    return f"login-attempts:{digest}"


def too_many_attempts(window_end: float) -> ApiError:
    """The 429 of a throttled name, with the whole seconds until its window ends (1 at least)."""
    seconds = max(1, math.ceil(window_end - time.time()))
    return ApiError("too_many_attempts", headers={"Retry-After": str(seconds)})
