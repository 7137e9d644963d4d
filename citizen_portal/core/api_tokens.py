"""Personal API tokens of staff accounts, for scripts and other software acting as a person.

Rules: a token is ``cpt_`` + 32 random bytes, shown once (``create_api_token`` returns the
plaintext) and stored as its SHA-256 only; it expires after ``days`` (default ``API_TOKEN_DAYS``,
at most ``MAX_TOKEN_DAYS``); a revoked or expired token or one of an inactive user never
authenticates. Each use records ``last_used_at``, at most once per ``LAST_USED_INTERVAL`` (one
conditional UPDATE, so a busy client costs no write per request). A use reads the token with one
statement, none on PostgreSQL while no change notice of tokens or people arrived (``user_for_token``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import make_transient_to_detached

from citizen_portal.core import change_notices, quick_reads
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import ApiToken, User
from citizen_portal.core.security import new_token, token_hash

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cpt_"
MAX_TOKEN_DAYS = 3650
LAST_USED_INTERVAL = timedelta(minutes=1)


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound()
    return user


def create_api_token(username: str, name: str, days: int | None = None, *, now: datetime | None = None) -> str:
    """Create a bearer token for the user, valid for ``days`` (default ``API_TOKEN_DAYS``), and return
    its plaintext (shown once, never stored)."""
    days = int(current_app.config["API_TOKEN_DAYS"]) if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(fields={"days": _l("Bitte 1 bis %(max)s Tage angeben.", max=MAX_TOKEN_DAYS)})
    moment = now or utcnow()
    token = new_token(32, TOKEN_PREFIX)
    with write_transaction("users"):
        user = _user(username)
        db.session.add(ApiToken(user_id=user.id, name=name.strip()[:100] or "token", token_hash=token_hash(token),
                                created_at=moment, expires_at=moment + timedelta(days=days)))
    return token


def revoke_api_token(token_id: int) -> None:
    """Revoke a token: refused from the next request on (this process forgets the token rows it kept at
    once; the others on the change notice, ``_token_row``)."""
    with write_transaction("users"):
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound()
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    current_app.extensions.get("api_token_rows", {}).clear()


def list_api_tokens(username: str) -> list[ApiToken]:
    user = _user(username)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


_USER_ATTRIBUTES = tuple((attribute.key, attribute.columns[0]) for attribute in User.__mapper__.column_attrs)
_BY_HASH = quick_reads.Prepared(
    select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
           *(column for _key, column in _USER_ATTRIBUTES))
    .join_from(ApiToken, User, User.id == ApiToken.user_id).where(ApiToken.token_hash == bindparam("token_hash")))
_USER_KEYS = tuple(key for key, _column in _USER_ATTRIBUTES)
_ACTIVE = _USER_KEYS.index("active")


NOTICE_CHANNEL = change_notices.register("api_token_inputs")  # api_tokens, users (migration 2911)
MAX_KNOWN_TOKENS = 1024  # rows kept per process (PostgreSQL, while listening)


def _token_row(digest: str) -> tuple | None:
    """The token's row with its person's columns: read by one statement (``core.quick_reads``: no session
    transaction on a fresh request), or on PostgreSQL taken from this process's memory while no change
    notice of ``api_tokens`` or ``users`` has arrived since the statement (``core.change_notices``)."""
    seen = change_notices.seen(db.session(), NOTICE_CHANNEL)  # before the statement: a later change raises it
    known = current_app.extensions.setdefault("api_token_rows", {})
    hit = known.get(digest) if seen is not None else None
    if hit is not None and hit[0] == seen:
        return hit[1]
    found = _BY_HASH.first(token_hash=digest)
    if seen is not None and found is not None:
        if len(known) >= MAX_KNOWN_TOKENS:
            known.clear()
        known[digest] = (seen, found)
    return found


def user_for_token(token: str, *, now: datetime | None = None) -> User | None:
    """The active user owning this unrevoked, unexpired token, else ``None``; records the use.
    The row is read fresh on every call, or on PostgreSQL kept until a change notice (``_token_row``),
    so a revoked token or a deactivated person is refused on the very next request; expiry is
    compared with ``now`` on every call. The user is a detached copy of her row (every column
    loaded; ``User`` has no relationships)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    moment = now or utcnow()
    digest = token_hash(token)
    found = _token_row(digest)
    if found is None:
        return None
    token_id, expires_at, revoked_at, last_used_at, *values = found
    if revoked_at is not None or expires_at <= moment or not values[_ACTIVE]:
        return None
    if (last_used_at is None or last_used_at <= moment - LAST_USED_INTERVAL) and _record_use(token_id, moment):
        known = current_app.extensions.get("api_token_rows", {})
        kept = known.get(digest)
        if kept is not None and kept[1] is found:  # this process need not write again within the interval
            known[digest] = (kept[0], (token_id, expires_at, revoked_at, moment, *values))
    user = User.__mapper__.class_manager.new_instance()  # as the ORM loads a row: no constructor
    user.__dict__.update(zip(_USER_KEYS, values, strict=True))
    make_transient_to_detached(user)
    return user


def _record_use(token_id: int, moment: datetime) -> bool:
    """``last_used_at = moment`` unless another request wrote it within the interval; a failure of this
    bookkeeping (a busy SQLite file) never refuses the request. True once written (or found written)."""
    try:
        db.session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= moment - LAST_USED_INTERVAL),
        ).values(last_used_at=moment).execution_options(synchronize_session=False))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("could not record the use of an API token: %s", type(exc).__name__)
        return False
    return True
