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


def test_a_new_sqlite_database_and_its_wal_and_shm_are_private(tmp_path):
    """Issue 18.12: the database file (and so the WAL and SHM SQLite makes beside it) is created 0600,
    even under the usual umask 022 (it was 0644: every local account could read bookings)."""
    import os
    import stat

    from flask_migrate import upgrade

    from citizen_portal.core.extensions import db
    from tests.factories import build_app

    previous = os.umask(0o022)
    try:
        path = tmp_path / "portal.sqlite3"
        app = build_app(f"sqlite:///{path}", tmp_path)
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:  # a write keeps the WAL and SHM while it is open
                connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
                files = [path, tmp_path / "portal.sqlite3-wal", tmp_path / "portal.sqlite3-shm"]
                modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in files}
            db.engine.dispose()
    finally:
        os.umask(previous)
    assert modes == {"portal.sqlite3": 0o600, "portal.sqlite3-wal": 0o600, "portal.sqlite3-shm": 0o600}


def test_an_existing_database_file_keeps_its_mode(tmp_path):
    import os
    import stat

    from citizen_portal.core.security import create_private_file

    path = tmp_path / "shared.sqlite3"
    path.write_bytes(b"")
    os.chmod(path, 0o640)
    create_private_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    create_private_file(tmp_path / "missing-dir" / "x.sqlite3")  # SQLite reports that itself


def test_the_demo_poll_codes_file_is_private(app):
    """``flask polls demo`` (run by ``make run``) writes printed invitation codes: owner only, also
    when an older file was world-readable."""
    import os
    import stat
    from pathlib import Path

    from citizen_portal.core.security import write_private_file
    from polls.demo import CODES_FILE, load_demo_poll

    path = Path(app.instance_path) / CODES_FILE
    path.unlink(missing_ok=True)
    previous = os.umask(0o022)
    try:
        assert load_demo_poll() == path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        os.chmod(path, 0o644)  # a file from before: rewritten private
        write_private_file(path, "x")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
        path.unlink(missing_ok=True)


def _waits_for_disk() -> bool:
    if database_kind() == "sqlite":
        return db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL; NORMAL is 1
    return db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_only_a_transaction_that_may_be_repeated_skips_waiting_for_the_disk(fresh_database_url, tmp_path):
    if database_kind() == "postgresql":  # the test cluster turns it off for speed; a real server has it on
        engine = create_engine(fresh_database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            name = connection.execute(text("SELECT current_database()")).scalar()
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = on'))
        engine.dispose()
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        with write_transaction(locks.users()):
            assert _waits_for_disk()
        with write_transaction(wait_for_disk=False):
            assert not _waits_for_disk()
            db.session.add(User(username="kept", display_name="Kept", roles="staff"))
        with write_transaction():  # the same pooled connection: back to waiting
            assert _waits_for_disk()
        assert db.session.scalars(select(User.username)).all() == ["kept"]
        db.session.commit()
        assert _waits_for_disk()  # a plain read transaction too
