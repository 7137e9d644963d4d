"""Personal API tokens of staff accounts, for scripts and other software acting as a person.

Rules: a token is ``cpt_`` + 32 random bytes, shown once (``create_api_token`` returns the
plaintext) and stored as its SHA-256 only; a revoked token or one of an inactive user never
authenticates."""

from __future__ import annotations

from sqlalchemy import select

from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiToken, User
from citizen_portal.core.security import new_token, token_hash

TOKEN_PREFIX = "cpt_"


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound()
    return user


def create_api_token(username: str, name: str) -> str:
    """Create a bearer token for the user and return its plaintext (shown once, never stored)."""
    token = new_token(32, TOKEN_PREFIX)
    with write_transaction("users"):
        user = _user(username)
        db.session.add(ApiToken(user_id=user.id, name=name.strip()[:100] or "token", token_hash=token_hash(token)))
    return token


def revoke_api_token(token_id: int) -> None:
    with write_transaction("users"):
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound()
        if token.revoked_at is None:
            token.revoked_at = utcnow()


def list_api_tokens(username: str) -> list[ApiToken]:
    user = _user(username)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def user_for_token(token: str) -> User | None:
    """The active user owning this unrevoked token, else ``None``."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user
