"""Through the real calendar facade: bookings become outbox rows, cancelling queues removals."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import CalendarLink, OutboxEntry
from staff_calendar.spaces.services import desks, rooms
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room, make_site, open_day
from tests.staff_calendar.spaces.test_desks import make_person

BERLIN = ZoneInfo("Europe/Berlin")


def test_desk_and_room_bookings_go_through_the_outbox(app):
    make_site()
    floor = make_floor("f1")
    make_desk(floor, "d1")
    db.session.add(CalendarLink(key="room:r1", owner_kind="room", owner_key="r1", url="http://127.0.0.1:9/r1/"))
    db.session.commit()
    make_room(floor, "r1", calendar_key="room:r1")
    _user, anna = make_person()
    day = open_day(1)
    [morning, _afternoon] = desks.book_desk(anna, "d1", day, "day")
    start = datetime.combine(day, time(9), tzinfo=BERLIN)
    booking = rooms.book_room(anna, "r1", start, start.replace(hour=10), "Jour fixe", 2)
    entries = {(e.calendar_key, e.uid.split("-")[0]): e for e in db.session.scalars(select(OutboxEntry))}
    assert set(entries) == {("staff:anna", "desk"), ("staff:anna", "room"), ("room:r1", "room")}
    assert entries[("staff:anna", "desk")].payload["transparent"] is True
    assert entries[("staff:anna", "room")].payload["transparent"] is False
    assert entries[("room:r1", "room")].payload["transparent"] is False
    desks.cancel_desk_booking(anna, morning.id, "day")
    rooms.cancel_room_booking(anna, booking.id)
    assert {e.action for e in db.session.scalars(select(OutboxEntry))} == {"delete"}
