"""Staff accounts and API tokens.

Rules:
- Passwords are stored as argon2id hashes (argon2-cffi); a hash with outdated parameters is
  re-hashed on the next successful login.
- ``authenticate`` answers the same (``None``) for unknown user, wrong password, inactive account
  or account without password, and spends the same hashing time on an unknown user.
- Roles are a subset of ``citizen_portal.core.access.ROLES``; usernames are 1-64 chars of
  ``[a-z0-9._-]``, stored lower-case.
API tokens: ``citizen_portal.core.api_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.access import ROLES
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import User

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")
USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{1,64}$")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def normalize_roles(roles: str | Iterable[str]) -> str:
    if isinstance(roles, str):
        roles = roles.split(",")
    chosen = [role.strip() for role in roles if role.strip()]
    unknown = [role for role in chosen if role not in ROLES]
    if unknown:
        raise Invalid(fields={"roles": _l("Unbekannte Rolle: %(roles)s", roles=", ".join(unknown))})
    return ",".join(dict.fromkeys(chosen)) or "staff"


def _check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(fields={"password": _l("Das Passwort muss mindestens %(n)s Zeichen lang sein.",
                                             n=MIN_PASSWORD_LENGTH)})


def get_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip().lower()))


def create_user(username: str, display_name: str, *, email: str | None = None,
                roles: str | Iterable[str] = "staff", password: str | None = None) -> User:
    """Create a staff account. Rules: valid unique username, known roles, password policy."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise Invalid(fields={"username": _l("Benutzername: 1–64 Zeichen a–z, 0–9, Punkt, Bindestrich, Unterstrich.")})
    role_text = normalize_roles(roles)
    if password is not None:
        _check_password_policy(password)
    password_hash = hash_password(password) if password is not None else None
    with write_transaction("users"):
        if get_user(username) is not None:
            raise Conflict(_l("Diesen Benutzernamen gibt es schon."), code="username_taken")
        user = User(username=username, display_name=display_name.strip() or username, email=email or None,
                    roles=role_text, password_hash=password_hash, active=True)
        db.session.add(user)
    return user


def set_password(username: str, password: str) -> User:
    """A new password (policy checked); every session of the user ends."""
    _check_password_policy(password)
    password_hash = hash_password(password)
    with write_transaction(locks.users()):
        user = get_user(username)
        if user is None:
            raise NotFound()
        user.password_hash = password_hash
        user.session_generation = (user.session_generation or 0) + 1
    return user


def end_all_sessions(user_id: int) -> None:
    """Every session of the user ends (logout ends them all, on every device, copied cookies included)."""
    with write_transaction(locks.users()):
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_generation = (user.session_generation or 0) + 1


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else ``None`` (never says which failed); a
    username with control characters is no username (no lookup: PostgreSQL refuses NUL in text)."""
    user = get_user(username) if username and username.isprintable() else None
    ok = _check_password(user.password_hash if user is not None else None, password or "")
    if not ok or user is None or not user.active:
        return None
    with write_transaction():
        user = db.session.get(User, user.id)
        if user is not None and _hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        if user is not None:
            user.last_login_at = utcnow()
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))
