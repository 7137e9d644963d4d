"""``write_transaction``: typed locks, a lock timeout answered as 409 busy, and no silent commit of
writes made outside it. On the suite's database (SQLite or PostgreSQL), with real connections."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text

from citizen_portal.core import locks
from citizen_portal.core.database import Busy, UnsavedChanges, write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from tests.factories import build_app
from tests.fixtures.database import database_kind


def test_locks_are_typed_and_stable():
    assert locks.staff_day(7, date(2026, 3, 3)) == locks.staff_day(7, date(2026, 3, 3))
    assert locks.staff_day(7, date(2026, 3, 3)).name == "booking-staff:7:2026-03-03"
    assert locks.desk_day(1, date(2026, 3, 3)).key != locks.desk_day(1, date(2026, 3, 4)).key
    assert -(2**63) <= locks.room(5).key < 2**63


def test_writes_made_outside_are_refused_not_committed(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        db.session.add(User(username="outside", display_name="Outside", roles="staff"))
        with pytest.raises(UnsavedChanges), write_transaction(locks.users()):
            pass
        db.session.rollback()
        db.session.add(User(username="flushed", display_name="Flushed", roles="staff"))
        db.session.flush()
        with pytest.raises(UnsavedChanges), write_transaction(locks.users()):
            pass
        db.session.rollback()
        assert db.session.scalars(select(User.username)).all() == []

        db.session.scalars(select(User)).all()  # a read-only transaction is simply ended
        with write_transaction(locks.users()):
            db.session.add(User(username="inside", display_name="Inside", roles="staff"))
        assert db.session.scalars(select(User.username)).all() == ["inside"]
        db.engine.dispose()


def _hold_lock(url: str, lock: locks.Lock, holding: threading.Event, release: threading.Event) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(text("BEGIN"))
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock.key})
        holding.set()
        release.wait(20)
        connection.exec_driver_sql("ROLLBACK")
    engine.dispose()


def test_a_lock_held_too_long_answers_busy(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, LOCK_TIMEOUT_SECONDS=0.5)
    lock = locks.room(42)
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(fresh_database_url, lock, holding, release))
    holder.start()
    try:
        assert holding.wait(10)
        with app.app_context():
            with pytest.raises(Busy) as caught, write_transaction(lock):
                db.session.add(User(username="late", display_name="Late", roles="staff"))
            assert caught.value.status == 409 and caught.value.code == "busy"
            assert db.session.scalars(select(User.username)).all() == []
            if database_kind() == "postgresql":  # another lock is not blocked by this one
                with write_transaction(locks.room(43)):
                    db.session.add(User(username="other", display_name="Other", roles="staff"))
            db.engine.dispose()
    finally:
        release.set()
        holder.join(20)
