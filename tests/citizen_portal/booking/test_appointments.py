"""Booking, holds, confirm, cancel, move, limits, fair choice, live check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.models import CANCELLED, CONFIRMED, EXPIRED, PENDING, Appointment, SlotClaim
from citizen_portal.booking.schemas import Contact
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import parse
from staff_calendar import services as calendar_services
from staff_calendar.calendars.models import CalendarLink, OutboxEntry
from tests.citizen_portal.booking.factories import contact, make_appointment, make_setup
from tests.factories import stamp_mirror

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TUESDAY = date(2026, 3, 3)


def local(hh: int, mm: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def request_for(service, location, start, **kw) -> services.BookingRequest:
    return services.BookingRequest(service_key=service.key, location_key=location.key, start=start,
                                   contact=contact(**kw))


@pytest.fixture
def live_free(monkeypatch):
    """Live CalDAV check faked: calendar keys in ``busy`` answer busy. The mirror is left real:
    these tests store no mirrored busy time, so the slot engine's ``busy_seconds`` finds none."""
    busy: set[str] = set()
    calls: list[str] = []

    def fake(key, start, end, timeout=None):
        calls.append(key)
        return calendar_services.FreeCheck(free=key not in busy, source="server")

    monkeypatch.setattr(calendar_services, "is_free", fake)
    return busy, calls


def with_calendar(member, key: str) -> None:
    """A linked calendar, synced and empty (the mirror reaches far ahead)."""
    db.session.add(CalendarLink(key=key, owner_kind="staff", owner_key=member.key, url="http://127.0.0.1:9/"))
    db.session.commit()
    member.calendar_key = key
    stamp_mirror(key)


def test_book_confirmed_creates_appointment_claim_and_outbox_event(app, live_free):
    location, service, [member] = make_setup()
    with_calendar(member, "staff:a")
    result = services.book(request_for(service, location, local(9)), now=NOW)
    appointment = result.appointment
    assert appointment.status == CONFIRMED
    assert appointment.staff_id == member.id
    assert len(appointment.code) == 7 and appointment.code[3] == "-"
    assert appointment.manage_token_hash != result.manage_token and len(result.manage_token) >= 30
    assert db.session.scalar(select(SlotClaim).where(SlotClaim.appointment_id == appointment.id))
    entry = db.session.scalars(select(OutboxEntry)).one()
    assert entry.calendar_key == "staff:a"
    # random, not guessable from the id (issue 17.6)
    assert entry.uid == calendar_services.event_uid("appointment", appointment.calendar_uid)
    assert entry.uid != calendar_services.event_uid("appointment", appointment.id)
    assert len(appointment.calendar_uid) == 32
    assert appointment.code in str(entry.payload) and "Erika" not in str(entry.payload)
    assert live_free[1] == ["staff:a"]


@pytest.mark.parametrize("field, values", [
    ("privacy_consent", {"privacy_consent": False}),
    ("email", {"email": "not-an-email"}),
    ("name", {"name": "  "}),
    ("name", {"name": "x" * 201}),
    ("phone", {"phone": "call me maybe"}),
    ("note", {"note": "x" * 1001}),
])
def test_contact_data_are_validated_by_the_schema(app, field, values):
    """The one validation of a booking's contact data (form and API alike): ``schemas.Contact``."""
    data = {"name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True, **values}
    with app.test_request_context(), pytest.raises(Invalid) as error:
        parse(Contact, data)
    assert set(error.value.fields) == {field}


def test_start_off_the_grid_is_invalid(app):
    location, service, _ = make_setup()
    with pytest.raises(Invalid) as error:
        services.book(request_for(service, location, local(9, 10)), now=NOW)
    assert "start" in error.value.fields


def test_service_not_at_location_is_not_found(app):
    """One rule, one error: a location that does not offer the service is ``NotFound`` for the
    booking as for the pages and the slot search."""
    from tests.factories import make_location

    _, service, _ = make_setup()
    other = make_location()
    with pytest.raises(NotFound) as error:
        services.book(request_for(service, other, local(9)), now=NOW)
    assert str(error.value.message) == "Diese Leistung wird an diesem Standort nicht angeboten."


def test_unknown_service_is_not_found(app):
    location, service, _ = make_setup()
    request = request_for(service, location, local(9))
    request.service_key = "nope"
    with pytest.raises(NotFound):
        services.book(request, now=NOW)


def test_taken_slot_conflicts_with_alternatives(app):
    location, service, _ = make_setup()
    services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(Conflict) as error:
        services.book(request_for(service, location, local(9), email="max@example.org"), now=NOW)
    assert error.value.code == "slot_taken"
    alternatives = error.value.extra["alternatives"]
    assert alternatives[0]["start"] == "2026-03-03T09:30:00+01:00"
    assert set(alternatives[0]) == {"start", "end", "location"}


def test_fair_choice_fewest_appointments_that_day(app):
    location, service, (first, second) = make_setup(staff_count=2)
    make_appointment(service, location, first, local(11).astimezone(UTC))
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert result.appointment.staff_id == second.id


def test_fair_choice_tie_breaks_by_staff_id(app):
    location, service, members = make_setup(staff_count=2)
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert result.appointment.staff_id == min(member.id for member in members)


def test_live_busy_staff_member_is_skipped(app, live_free):
    location, service, (first, second) = make_setup(staff_count=2)
    with_calendar(first, "staff:first")
    with_calendar(second, "staff:second")
    live_free[0].add("staff:first")
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert result.appointment.staff_id == second.id


def test_live_busy_everywhere_conflicts(app, live_free):
    location, service, [member] = make_setup()
    with_calendar(member, "staff:only")
    live_free[0].add("staff:only")
    with pytest.raises(Conflict) as error:
        services.book(request_for(service, location, local(9)), now=NOW)
    assert error.value.code == "slot_taken"
    assert db.session.scalar(select(Appointment)) is None


def test_overlap_with_other_duration_is_refused_in_the_lock(app):
    location, service, [member] = make_setup()
    # an appointment that the engine did not see (inserted "concurrently") at 08:45-09:15
    make_appointment(service, location, member, local(8, 45).astimezone(UTC))
    with pytest.raises(Conflict):
        services.book(request_for(service, location, local(9)), now=NOW)


def test_limit_per_email_and_service(app):
    location, service, _ = make_setup(service_kw={"max_active_per_email": 1})
    services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(Conflict) as error:
        services.book(request_for(service, location, local(10), email="ERIKA@example.org "), now=NOW)
    assert error.value.code == "limit_reached"


def test_limit_frees_after_cancel(app):
    location, service, _ = make_setup()
    first = services.book(request_for(service, location, local(9)), now=NOW)
    services.cancel(first.appointment.code, first.manage_token, now=NOW)
    assert services.book(request_for(service, location, local(10)), now=NOW).appointment.status == CONFIRMED


def test_hold_confirm_flow(app, live_free):
    location, service, [member] = make_setup(service_kw={"email_confirmation": True})
    with_calendar(member, "staff:h")
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert result.appointment.status == PENDING and result.confirm_token
    assert result.appointment.hold_expires_at == NOW + timedelta(minutes=15)
    assert db.session.scalars(select(OutboxEntry)).all() == []  # no calendar event for a hold
    confirmed = services.confirm(result.appointment.code, result.confirm_token, now=NOW + timedelta(minutes=5))
    assert confirmed.appointment.status == CONFIRMED
    assert confirmed.manage_token == result.manage_token
    assert len(db.session.scalars(select(OutboxEntry)).all()) == 1


def test_hold_blocks_the_slot_until_it_expires(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    first = services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(Conflict):
        services.book(request_for(service, location, local(9), email="b@example.org"), now=NOW)
    later = NOW + timedelta(minutes=16)
    other = services.book(request_for(service, location, local(9), email="b@example.org"), now=later)
    assert other.appointment.status == PENDING
    # the claim's re-check expired the hold that ran out (before the job did) and dropped its claim
    db.session.refresh(first.appointment)
    assert first.appointment.status == EXPIRED
    assert db.session.scalars(select(SlotClaim.appointment_id)).all() == [other.appointment.id]


def test_expire_holds_job_frees_the_slot(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert services.expire_holds(now=NOW + timedelta(minutes=16)) == 1
    db.session.refresh(result.appointment)
    assert result.appointment.status == EXPIRED
    assert db.session.scalar(select(SlotClaim)) is None


def test_confirm_after_expiry_when_slot_still_free(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    result = services.book(request_for(service, location, local(9)), now=NOW)
    services.expire_holds(now=NOW + timedelta(minutes=16))
    confirmed = services.confirm(result.appointment.code, result.confirm_token, now=NOW + timedelta(minutes=20))
    assert confirmed.appointment.status == CONFIRMED


def test_confirm_after_expiry_when_slot_taken(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    result = services.book(request_for(service, location, local(9)), now=NOW)
    later = NOW + timedelta(minutes=16)
    services.book(request_for(service, location, local(9), email="b@example.org"), now=later)
    with pytest.raises(Conflict) as error:
        services.confirm(result.appointment.code, result.confirm_token, now=later)
    assert error.value.code == "hold_expired"
    assert "alternatives" in error.value.extra


def test_confirm_with_wrong_token_is_not_found(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    result = services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(NotFound):
        services.confirm(result.appointment.code, "wrong", now=NOW)


def test_get_by_token(app):
    location, service, _ = make_setup()
    result = services.book(request_for(service, location, local(9)), now=NOW)
    code = result.appointment.code
    assert services.get_by_token(code.lower().replace("-", ""), result.manage_token).id == result.appointment.id
    with pytest.raises(NotFound):
        services.get_by_token(code, "wrong")
    with pytest.raises(NotFound):
        services.get_by_token("AAA-AAA", result.manage_token)


def test_cancel(app, live_free):
    location, service, [member] = make_setup()
    with_calendar(member, "staff:c")
    result = services.book(request_for(service, location, local(9)), now=NOW)
    cancelled = services.cancel(result.appointment.code, result.manage_token, now=NOW)
    assert cancelled.status == CANCELLED and cancelled.sequence == 1 and cancelled.cancelled_at == NOW
    assert db.session.scalar(select(SlotClaim)) is None
    kinds = [entry.action for entry in db.session.scalars(select(OutboxEntry).order_by(OutboxEntry.id))]
    assert kinds[-1] == "delete"
    # held back for cancelled_slot_delay_minutes, then offered again
    assert "09:00" not in [s.start.astimezone(BERLIN).strftime("%H:%M") for s in
                           services.find_slots(service.key, TUESDAY, TUESDAY, now=NOW + timedelta(minutes=5))]
    assert "09:00" in [s.start.astimezone(BERLIN).strftime("%H:%M") for s in
                       services.find_slots(service.key, TUESDAY, TUESDAY, now=NOW + timedelta(minutes=61))]


def test_cancel_past_appointment_is_refused(app):
    location, service, _ = make_setup()
    result = services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(Conflict):
        services.cancel(result.appointment.code, result.manage_token, now=local(9, 1).astimezone(UTC))


def test_move_same_uid_higher_sequence(app, live_free):
    location, service, [member] = make_setup()
    with_calendar(member, "staff:m")
    result = services.book(request_for(service, location, local(9)), now=NOW)
    moved = services.move(result.appointment.code, result.manage_token, local(9, 30), now=NOW)
    assert moved.start_at == local(9, 30).astimezone(UTC) and moved.sequence == 1
    claim = db.session.scalars(select(SlotClaim)).one()
    assert claim.start_at == moved.start_at
    entries = db.session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
    assert {entry.uid for entry in entries} == {calendar_services.event_uid("appointment", moved.calendar_uid)}


def test_appointments_from_before_random_uids_keep_their_old_uid(app):
    """An appointment stored before ``calendar_uid`` existed keeps ``appointment-<id>@…`` (its events
    already sit in calendars under that UID)."""
    from citizen_portal.booking.services.calendar_events import appointment_uid

    location, service, _staff = make_setup()
    result = services.book(request_for(service, location, local(9)), now=NOW)
    result.appointment.calendar_uid = None
    assert appointment_uid(result.appointment) == calendar_services.event_uid("appointment", result.appointment.id)


def test_move_into_overlap_with_itself_is_allowed(app):
    location, service, _ = make_setup(service_kw={"duration_minutes": 60})
    result = services.book(request_for(service, location, local(8)), now=NOW)
    moved = services.move(result.appointment.code, result.manage_token, local(9), now=NOW)
    assert moved.start_at == local(9).astimezone(UTC)


def test_move_to_taken_time_conflicts(app):
    location, service, _ = make_setup()
    services.book(request_for(service, location, local(10), email="x@example.org"), now=NOW)
    result = services.book(request_for(service, location, local(9)), now=NOW)
    with pytest.raises(Conflict) as error:
        services.move(result.appointment.code, result.manage_token, local(10), now=NOW)
    assert error.value.code == "slot_taken"


def test_set_attendance(app):
    location, service, [member] = make_setup()
    appointment = make_appointment(service, location, member, local(9).astimezone(UTC))
    assert services.set_attendance(appointment.id, "arrived", now=NOW).status == "arrived"
    with pytest.raises(Invalid):
        services.set_attendance(appointment.id, "cancelled", now=NOW)
