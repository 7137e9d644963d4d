"""The one claim path of book and move (``services/claim.py``): one day plan per booking, the
re-check inside the lock, and the person-day lock a staff member's room bookings share."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.models import CANCELLED, SlotClaim
from citizen_portal.booking.services import claim, slots
from citizen_portal.core import locks
from citizen_portal.core.database import Busy
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from staff_calendar import services as calendar_services
from staff_calendar.calendars.models import CalendarLink
from tests.citizen_portal.booking.factories import contact, make_setup
from tests.citizen_portal.booking.test_appointments import NOW, TUESDAY, local, request_for
from tests.factories import build_app, stamp_mirror
from tests.fixtures.database import database_kind
from tests.test_database import _hold_lock


@pytest.fixture
def plan_calls(monkeypatch) -> list[tuple]:
    """Every run of the slot engine by the booking path (claim) and by the alternatives (slots)."""
    calls: list[tuple] = []
    real = claim.plan

    def counting(service, first_day, last_day, **kw):
        calls.append((first_day, last_day))
        return real(service, first_day, last_day, **kw)

    monkeypatch.setattr(claim, "plan", counting)
    monkeypatch.setattr(slots, "plan", counting)
    return calls


def test_a_booking_and_a_move_compute_the_day_plan_once(app, plan_calls):
    location, service, _ = make_setup(staff_count=2)
    result = services.book(request_for(service, location, local(9)), now=NOW)
    assert plan_calls == [(TUESDAY, TUESDAY)]
    services.move(result.appointment.code, result.manage_token, local(10), now=NOW)
    assert plan_calls == [(TUESDAY, TUESDAY)] * 2


def test_a_move_re_checks_the_appointment_inside_the_lock(app, monkeypatch):
    """Cancelled between the move's first look and its lock (here: during the live calendar check):
    the move is refused and the cancelled appointment claims no time."""
    location, service, [member] = make_setup()
    db.session.add(CalendarLink(key="staff:x", owner_kind="staff", owner_key=member.key, url="http://127.0.0.1:9/"))
    db.session.commit()
    member.calendar_key = "staff:x"
    stamp_mirror("staff:x")
    monkeypatch.setattr(calendar_services, "is_free",
                        lambda *a, **kw: calendar_services.FreeCheck(free=True, source="server"))
    result = services.book(request_for(service, location, local(9)), now=NOW)
    code, token = result.appointment.code, result.manage_token

    def cancelled_meanwhile(*a, **kw):
        services.cancel(code, token, now=NOW)
        return calendar_services.FreeCheck(free=True, source="server")

    monkeypatch.setattr(calendar_services, "is_free", cancelled_meanwhile)
    with pytest.raises(Conflict) as refused:
        services.move(code, token, local(10), now=NOW)
    assert refused.value.code == "not_movable"
    db.session.refresh(result.appointment)
    assert result.appointment.status == CANCELLED and result.appointment.start_at == local(9).astimezone(UTC)
    assert db.session.scalars(select(SlotClaim)).all() == []


def test_a_booking_waits_for_the_staff_members_own_room_booking(fresh_database_url, tmp_path):
    """A citizen booking takes ``locks.person_day`` of the staff member, as her room bookings do, so
    on PostgreSQL the two can never be re-checked side by side (SQLite: one writer at a time anyway)."""
    app = build_app(fresh_database_url, tmp_path, LOCK_TIMEOUT_SECONDS=0.5)
    with app.app_context():
        location, service, [member] = make_setup()
        staff_key, service_key, location_key = member.key, service.key, location.key
        db.session.commit()
        holding, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=_hold_lock, args=(fresh_database_url, locks.person_day(staff_key, TUESDAY),
                                                           holding, release))
        holder.start()
        try:
            assert holding.wait(10)
            with pytest.raises(Busy):
                services.book(services.BookingRequest(service_key, location_key, local(9), contact()), now=NOW)
            if database_kind() == "postgresql":  # her other days are not held up
                wednesday = local(9, day=TUESDAY + timedelta(days=1))
                booked = services.book(services.BookingRequest(service_key, location_key, wednesday, contact()),
                                       now=NOW)
                assert booked.appointment.start_at == wednesday.astimezone(UTC)
        finally:
            release.set()
            holder.join(20)
        assert services.book(services.BookingRequest(service_key, location_key, local(9), contact("Zweite",
                                                     "b@example.org")), now=NOW).appointment.staff_id == member.id
        db.session.remove()
        db.engine.dispose()
