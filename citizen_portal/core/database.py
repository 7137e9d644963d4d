"""Database plumbing shared by every package: engine tuning and the write transaction.

Rule (pretix style): a write service reads remote data first, then opens ``write_transaction``,
which takes the lock, then re-checks and writes; side effects run after the commit.
On PostgreSQL a lock is a transaction-scoped advisory lock (``citizen_portal.core.locks``); on SQLite
the transaction starts with ``BEGIN IMMEDIATE``, which holds the database's single write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.locks import Lock
from citizen_portal.core.security import create_private_file


def configure_engine(engine: Engine, lock_timeout_seconds: float) -> None:
    """SQLite: the database file created with mode 0600 (its WAL and SHM follow it), WAL, foreign
    keys, a busy timeout of ``LOCK_TIMEOUT_SECONDS``, and transactions
    SQLAlchemy controls itself (pysqlite's own BEGIN handling breaks SAVEPOINT and BEGIN IMMEDIATE).
    Every database: sessions track their flushed writes (``write_transaction`` refuses them)."""
    track_session_writes()
    if engine.dialect.name != "sqlite":
        return
    busy_timeout_ms = int(lock_timeout_seconds * 1000)
    path = engine.url.database
    if path and path != ":memory:" and not path.startswith("file:"):

        @event.listens_for(engine, "do_connect")
        def _private_database_file(_dialect, _record, _cargs, _cparams):
            create_private_file(Path(path))  # 0600: the file, its WAL and SHM hold personal data

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement its own transaction (the slot cache's one-statement checks)
        connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', '')}".strip())


class UnsavedChanges(RuntimeError):
    """``write_transaction`` was entered while the session held writes made outside it (a bug: they
    would have been committed without the lock and without the re-check)."""


def _flushed(session: Session, _context) -> None:
    session.info["flushed_writes"] = True


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None or transaction.nested:
        session.info.pop("flushed_writes", None)


def track_session_writes() -> None:
    """Remember on every session whether its open transaction has flushed writes (once per process)."""
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_transaction_end", _transaction_ended)


@contextmanager
def objects_kept() -> Iterator[None]:
    """Within the block, a commit does not expire the session's objects (a rollback still does):
    what was read before a lock and what was just written keep their values instead of being read
    again after every commit. For callers whose rules never read those objects for a decision (every
    re-check under a lock is a fresh query), e.g. a booking's claim and its after-commit steps."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def holds_writes(session: Session) -> bool:
    """Whether ``session`` holds changes that are not committed (unflushed or flushed)."""
    return bool(session.new or session.dirty or session.deleted or session.info.get("flushed_writes"))


def _begin_fresh(session: Session) -> None:
    """End a read-only transaction the session may have open; refuse one with writes in it."""
    if holds_writes(session):
        raise UnsavedChanges("write_transaction started while the session holds unsaved or uncommitted changes; "
                             "commit them first or make them inside the write transaction")
    if session.in_transaction():
        session.commit()  # only reads happened: ending them loses nothing


@contextmanager
def write_transaction(*locks: Lock | str) -> Iterator[None]:
    """Run the block in a fresh transaction holding ``locks`` (``citizen_portal.core.locks``); commit on
    success, roll back on any error.

    Rules: the lock is the transaction's first statement (on SQLite upgrading a read transaction can
    deadlock), so an open read-only transaction is ended first and one with writes is refused
    (``UnsavedChanges``); locks are taken in sorted order, so two writers never wait on each other in a
    cycle; waiting longer than ``LOCK_TIMEOUT_SECONDS`` for a lock (PostgreSQL) or for the database's
    write lock (SQLite) answers ``Conflict("busy")`` instead of hanging."""
    session = db.session()  # the Session itself: scoped_session does not proxy in_transaction()
    _begin_fresh(session)
    timeout_ms = int(float(current_app.config["LOCK_TIMEOUT_SECONDS"]) * 1000)
    try:
        if db.engine.dialect.name == "sqlite":
            connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        else:
            connection = session.connection()
            held = sorted({item if isinstance(item, Lock) else Lock(item) for item in locks})
            if held:  # no lock to wait for: no statement
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {timeout_ms}")
                for lock in held:
                    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock.key})
                connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
    except OperationalError as exc:
        session.rollback()
        if _is_lock_timeout(exc):
            raise Busy() from None
        raise
    try:
        yield
        session.commit()
    except OperationalError as exc:
        session.rollback()
        if _is_lock_timeout(exc):
            raise Busy() from None
        raise
    except BaseException:
        session.rollback()
        raise


class Busy(Conflict):
    """A lock was not free in time: many people are booking the same thing at this moment."""

    code = "busy"
    headers = {"Retry-After": "1"}
    default_message = _l("Gerade ist hier viel los. Bitte versuchen Sie es in einem Moment noch einmal.")


def _is_lock_timeout(exc: OperationalError) -> bool:
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    return "database is locked" in str(original or exc)


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Values going in must be
    timezone-aware (a naive datetime is a bug and raises); values coming out are aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Callable column default: the current moment in UTC."""
    return datetime.now(UTC)
