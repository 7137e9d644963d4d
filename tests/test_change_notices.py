"""Change notices (``core.change_notices``): a listener per process and database learns of every
committed change of the slot inputs; nothing before the commit; it notices a lost connection,
reconnects, and then counts that as a change too. SQLite has none."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from citizen_portal.core import change_notices
from tests.fixtures.patience import patience, wait_until

CHANNEL = change_notices.register("booking_slot_inputs")


def test_sqlite_has_no_listener():
    engine = create_engine("sqlite://")
    assert change_notices.listener(engine) is None
    assert change_notices.state(engine, CHANNEL) == (False, 0)


@pytest.fixture
def listening(fresh_database_url) -> Iterator[tuple[Engine, change_notices.Listener]]:
    """An engine on a fresh database and this process's listener on it, listening."""
    engine = create_engine(fresh_database_url)
    listener = change_notices.listener(engine)
    wait_until(lambda: listener.state(CHANNEL)[0], "the listener to listen")
    yield engine, listener
    listener.stop()
    engine.dispose()


@pytest.mark.postgresql_only
def test_a_committed_change_raises_the_generation_and_an_open_one_does_not(listening):
    engine, listener = listening
    assert listener is change_notices.listener(engine)  # one per process and database
    before = listener.state(CHANNEL)[1]
    with engine.connect() as connection:
        connection.execute(text("UPDATE booking_slot_version SET token = 'changed' WHERE id = 1"))
        time.sleep(0.3)
        assert listener.state(CHANNEL) == (True, before)  # not committed yet: no notice
        connection.commit()
    wait_until(lambda: listener.state(CHANNEL)[1] > before, "the notice of the commit")
    after = listener.state(CHANNEL)[1]
    with engine.begin() as connection:  # an unrelated table: no notice
        connection.execute(text("UPDATE appointments SET language = 'en' WHERE id = -1"))
    time.sleep(0.3)
    assert listener.state(CHANNEL) == (True, after)


@pytest.mark.postgresql_only
def test_a_lost_connection_stops_listening_until_the_listener_is_back(listening):
    engine, listener = listening
    before = listener.state(CHANNEL)[1]
    with engine.begin() as connection:
        ended = connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :name"),
            {"name": change_notices.APPLICATION_NAME}).all()
    assert ended, "the listener's connection was not found"
    wait_until(lambda: listener.state(CHANNEL)[1] > before, "the listener to notice the lost connection")
    wait_until(lambda: listener.state(CHANNEL)[0], "the listener to listen again")


@pytest.mark.postgresql_only
def test_disposing_the_engine_ends_its_listener_and_the_next_use_starts_one(listening):
    engine, listener = listening
    engine.dispose()
    assert listener.stopped.is_set()
    listener.thread.join(timeout=patience(10))
    assert not listener.thread.is_alive()  # its connection is closed with it
    again = change_notices.listener(engine)
    assert again is not listener
    wait_until(lambda: again.state(CHANNEL)[0], "the new listener to listen")
