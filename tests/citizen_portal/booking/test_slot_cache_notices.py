"""The slot cache on PostgreSQL with change notices (``core/change_notices.py``, migration 2901): while
this process listens, a hit whose inputs sent no notice since the entry was computed or last validated
runs no statement;
a booking committed by another process sends one, and the next request validates (and sees it)."""

from __future__ import annotations

import pytest

from citizen_portal.booking.services import BookingRequest, book, find_slots
from citizen_portal.booking.services import cache as cache_module
from citizen_portal.core import change_notices, quick_reads
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import contact, make_setup
from tests.citizen_portal.booking.test_slot_cache import ALL, NOW, TUESDAY, local, starts
from tests.factories import two_workers
from tests.fixtures.patience import wait_until

pytestmark = pytest.mark.postgresql_only


def test_hits_run_no_statement_until_a_notice_and_a_booking_elsewhere_is_seen(fresh_database_url, tmp_path,
                                                                               monkeypatch):
    statements = []
    real = quick_reads.autocommit_row
    monkeypatch.setattr(quick_reads, "autocommit_row", lambda *args: statements.append(args[1]) or real(*args))

    def tuesday() -> list[str]:
        found = starts(find_slots(keys[0], TUESDAY, TUESDAY, now=NOW))
        db.session.remove()  # a new request: outside any transaction
        return found

    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        with worker_a.app_context():
            location, service, _ = make_setup()
            keys = (service.key, location.key)
            db.session.commit()
            listener = change_notices.listener(db.engine)
            wait_until(lambda: listener.state(cache_module.NOTICE_CHANNEL)[0], "the listener to listen")
            assert tuesday() == ALL  # computed after the listener's generation was read
            for _ in range(5):
                assert tuesday() == ALL
            assert statements == []  # no statement while nothing changed
        with worker_b.app_context():
            book(BookingRequest(service_key=keys[0], location_key=keys[1], start=local(TUESDAY, 9),
                                contact=contact("Erika")), now=NOW)
            db.session.remove()
        with worker_a.app_context():
            wait_until(lambda: "09:00" not in tuesday(), "the booking of the other process")
            assert len(statements) == 1, statements  # the notice made the cache validate (and recompute)
            assert "09:00" not in tuesday()
            assert len(statements) == 1  # and quiet again afterwards
