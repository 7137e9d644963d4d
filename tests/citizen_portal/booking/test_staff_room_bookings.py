"""A staff member's room booking blocks her for citizen appointments from the moment it commits (her
calendar has not even received the event yet); cancelling frees the time; a desk booking
(TRANSPARENT) blocks nothing. Through the real pages and the slots API, with the slot cache on."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.models import StaffMember
from citizen_portal.booking.services import claim
from citizen_portal.booking.services.cache import slot_cache
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.calendars.models import BusyInterval, CalendarLink, OutboxEntry
from staff_calendar.spaces.models import RoomBooking
from staff_calendar.spaces.services import rooms
from staff_calendar.spaces.services.common import Actor
from tests.citizen_portal.booking.factories import ALL_WEEK, contact, make_site
from tests.factories import login, make_location, make_service, make_staff, make_user, stamp_mirror
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room, open_day

BER = ZoneInfo("Europe/Berlin")
def local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BER)


ALL = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


@pytest.fixture
def office(app):
    """mmueller serves the only service (Eheschließung anmelden, 30 min, 08:00-12:00) and has a
    mirrored (empty) calendar; a floor with a room and a desk."""
    make_site(holidays="BW")
    location = make_location(opening_hours=dict(ALL_WEEK))
    service = make_service(locations=[location], duration_minutes=30, min_lead_hours=0, horizon_days=60)
    make_user("mmueller")
    db.session.add(CalendarLink(key="staff:mmueller", owner_kind="staff", owner_key="mmueller",
                                url="http://127.0.0.1:9/mmueller/"))
    db.session.commit()
    stamp_mirror("staff:mmueller")
    make_staff("mmueller", locations=[location], services=[service], calendar_key="staff:mmueller")
    floor = make_floor()
    return {"service": service, "location": location, "room": make_room(floor), "desk": make_desk(floor),
            "day": open_day(2)}


def citizen_slots(client, office) -> list[str]:
    day = office["day"].isoformat()
    answer = client.get(f"/api/v1/services/{office['service'].key}/slots?from={day}&to={day}")
    assert answer.status_code == 200
    return [slot["start"][11:16] for slot in answer.json["slots"]]


def test_her_room_booking_removes_her_citizen_slots_on_the_next_request(app, client, office):
    assert citizen_slots(client, office) == ALL  # computed and cached
    assert citizen_slots(client, office) == ALL and slot_cache().hits >= 1
    login(client, "mmueller")
    answer = client.post("/arbeitsplaetze/raeume/buchen", data={
        "date": office["day"].isoformat(), "room": office["room"].key, "start": "09:00", "end": "10:30",
        "title": "Jour fixe", "attendees": "3"})
    assert answer.status_code in (200, 302, 303), answer.get_data(as_text=True)[:500]
    booking = db.session.scalars(select(RoomBooking)).one()

    # the next request: 09:00-10:30 gone, although her calendar has not got the event yet
    assert citizen_slots(client, office) == ["08:00", "08:30", "10:30", "11:00", "11:30"]
    assert db.session.scalars(select(OutboxEntry.state).where(OutboxEntry.calendar_key == "staff:mmueller")).all() \
        == ["pending"]
    assert db.session.scalars(select(BusyInterval)).all() == []

    client.post(f"/arbeitsplaetze/raumbuchungen/{booking.id}/stornieren")
    assert citizen_slots(client, office) == ALL


def test_a_desk_booking_is_transparent_and_blocks_nothing(app, client, office):
    assert citizen_slots(client, office) == ALL
    login(client, "mmueller")
    answer = client.post("/arbeitsplaetze/buchen", data={
        "date": office["day"].isoformat(), "part": "day", "desk": office["desk"].key})
    assert answer.status_code in (200, 302, 303), answer.get_data(as_text=True)[:500]
    [event] = db.session.scalars(select(OutboxEntry).where(OutboxEntry.calendar_key == "staff:mmueller")).all()
    assert event.payload["transparent"] is True
    assert citizen_slots(client, office) == ALL


def test_a_citizen_cannot_book_into_her_room_booking(app, office):
    day = office["day"]
    mueller = Actor.of(db.session.scalar(select(User).where(User.username == "mmueller")))
    member_id = db.session.scalar(select(StaffMember.id).where(StaffMember.key == "mmueller"))
    rooms.book_room(mueller, office["room"].key, local(day, 12), local(day, 13), "Mittagsrunde")
    assert claim.overlapping(member_id, local(day, 12, 30), local(day, 13), datetime.now(UTC))
    assert not claim.overlapping(member_id, local(day, 11, 30), local(day, 12), datetime.now(UTC))

    def request(hour: int, minute: int = 0) -> services.BookingRequest:
        return services.BookingRequest(service_key=office["service"].key, location_key=office["location"].key,
                                       start=local(day, hour, minute),
                                       contact=contact("Erika", f"erika{hour}@example.org"))

    assert services.book(request(11, 30), now=datetime.now(UTC)).appointment.start_at == local(day, 11, 30)
    rooms.book_room(mueller, office["room"].key, local(day, 8), local(day, 8, 30), "Kurz")
    with pytest.raises(Conflict) as taken:
        services.book(request(8), now=datetime.now(UTC))
    assert taken.value.code == "slot_taken"
