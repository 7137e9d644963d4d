"""Desk availability on PostgreSQL with change notices (``core/change_notices.py``, migration 2902):
while this process listens and no desk booking or block has changed, the cached answer is served
without reading its fingerprint; a booking by another process sends a notice and is seen."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event

from citizen_portal.core import change_notices, quick_reads
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.services import desk_availability, desks
from staff_calendar.spaces.services.common import Actor
from tests.factories import two_workers
from tests.fixtures.patience import wait_until
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_site, open_day

pytestmark = pytest.mark.postgresql_only


def test_the_answer_needs_no_fingerprint_until_a_booking_elsewhere_sends_a_notice(fresh_database_url, tmp_path,
                                                                                        monkeypatch):
    day = open_day(2)
    fingerprints: list[str] = []

    def morning_free() -> bool:
        answer = json.loads(desk_availability.desk_availability_json(day))
        db.session.remove()  # a new request
        return answer["desks"][0]["free"]["morning"]

    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        with worker_a.app_context():
            make_site()
            make_desk(make_floor("f1"), "d1")
            user = User(username="anna", display_name="Anna", roles="staff")
            db.session.add(user)
            db.session.commit()
            actor = Actor.of(user)
            def count(statement: str) -> None:
                if "max(desk_bookings.created_at)" in statement:
                    fingerprints.append(statement)

            # read in the session's transaction (after a cache miss loaded the layout) or as a quick read
            event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: count(statement))
            real = quick_reads.autocommit_row
            monkeypatch.setattr(quick_reads, "autocommit_row", lambda *args: count(args[1]) or real(*args))
            listener = change_notices.listener(db.engine)
            wait_until(lambda: listener.state(desk_availability.NOTICE_CHANNEL)[0], "the listener to listen")
            assert morning_free() is True  # computed: the fingerprint is read once
            assert len(fingerprints) == 1
            for _ in range(5):
                assert morning_free() is True
            assert len(fingerprints) == 1  # nothing changed: no fingerprint read
        with worker_b.app_context():
            desks.book_desk(actor, "d1", day, "morning")
            db.session.remove()
        with worker_a.app_context():
            wait_until(lambda: morning_free() is False, "the booking of the other process")
            assert len(fingerprints) == 2  # the notice made it read the fingerprint again
