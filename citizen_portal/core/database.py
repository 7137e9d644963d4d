"""Database plumbing shared by every package: engine tuning and the write transaction.

Rule (pretix style): a write service reads remote data first, then opens ``write_transaction``,
which takes the lock, then re-checks and writes; side effects run after the commit.
On PostgreSQL the lock is a transaction-scoped advisory lock per name; on SQLite the transaction
starts with ``BEGIN IMMEDIATE``, which holds the database's single write lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from citizen_portal.core.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, a busy timeout, and transactions SQLAlchemy controls itself
    (pysqlite's own BEGIN handling breaks SAVEPOINT and BEGIN IMMEDIATE)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lock name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def write_transaction(*lock_names: str) -> Iterator[None]:
    """Run the block in a fresh transaction holding the named locks; commit on success.

    Any transaction still open on the session is ended first, so the lock is the first
    statement (required on SQLite, where upgrading a read transaction can deadlock).
    Lock names are taken in sorted order, so two writers never wait on each other in a cycle."""
    session = db.session()  # the Session itself: scoped_session does not proxy in_transaction()
    if session.in_transaction():
        session.commit()
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    else:
        session.connection()
        for name in sorted(set(lock_names)):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise




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
