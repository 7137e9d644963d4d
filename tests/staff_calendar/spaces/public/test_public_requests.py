"""Rooms for citizens, the rules: a weekly series judged per date, held as tentative once the address is
confirmed, approved (confirmed) or declined (freed), staff bookings and requests exclude each other,
monthly hours, blackout dates and holidays, cancelling by the manage link, no-shows, erasure."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.models import RoomRequest, RoomUse
from staff_calendar.spaces.services import public_requests, public_rooms, rooms
from staff_calendar.spaces.services.common import Actor, load_settings
from tests.staff_calendar.spaces.factories import make_site
from tests.staff_calendar.spaces.public.helpers import BERLIN, make_public_room, request_input, series_start


@pytest.fixture
def setup(app, clock, calendar_calls):
    make_site(public_hours_per_month=10)
    room = make_public_room(calendar_key="room:buergerraum")
    first = series_start(4)  # the longest series below has four dates
    clock.set(first - timedelta(days=2), 12)
    admin = User(username="raeume", display_name="Raumvergabe", roles="room_admin")
    staff = User(username="tschmidt", display_name="T. Schmidt", roles="staff")
    db.session.add_all([admin, staff])
    db.session.commit()
    return room, first, Actor.of(admin), Actor.of(staff)


def _at(day, hour):
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


def test_series_is_held_tentative_then_confirmed(setup, calendar_calls):
    _room, first, admin, _ = setup
    until = first + timedelta(weeks=2)
    submitted = public_requests.submit(request_input(first, until=until.isoformat()), "de")
    assert [o.ok for o in submitted.outcomes] == [True, True, True]
    assert submitted.request.status == "unverified" and calendar_calls.events == []  # nothing held yet
    assert len(submitted.token) > 20 and submitted.request.verify_token_hash != submitted.token

    request, outcomes = public_requests.verify(submitted.token)
    assert request.status == "pending" and [o.ok for o in outcomes] == [True] * 3
    assert [e["status"] for e in calendar_calls.events] == ["TENTATIVE"] * 3
    assert {e["calendar_key"] for e in calendar_calls.events} == {"room:buergerraum"}
    assert "Erika" not in str(calendar_calls.events)  # no names in the room's calendar
    with pytest.raises(NotFound):  # the link works once
        public_requests.verify(submitted.token)

    approved, manage = public_requests.approve(admin, request.id)
    assert approved.status == "approved" and {u.status for u in approved.uses} == {"confirmed"}
    assert [e["status"] for e in calendar_calls.events[3:]] == ["CONFIRMED"] * 3
    assert public_requests.by_manage_token(manage).id == request.id


def test_decline_frees_the_time(setup, calendar_calls):
    _room, first, admin, staff = setup
    submitted = public_requests.submit(request_input(first), "de")
    request, _ = public_requests.verify(submitted.token)
    with pytest.raises(Conflict):  # held: the staff member cannot take it
        rooms.book_room(staff, "buergerraum", _at(first, 19), _at(first, 20), "Sitzung")
    with pytest.raises(Invalid) as no_reason:
        public_requests.decline(admin, request.id, "  ")
    assert "reason" in no_reason.value.fields
    public_requests.decline(admin, request.id, "Der Raum wird renoviert.")
    assert calendar_calls.removals and calendar_calls.removals[-1]["calendar_key"] == "room:buergerraum"
    assert db.session.get(RoomRequest, request.id).uses[0].status == "declined"
    booking = rooms.book_room(staff, "buergerraum", _at(first, 19), _at(first, 20), "Sitzung")
    assert booking.id


def test_staff_booking_makes_the_date_taken(setup):
    _room, first, _, staff = setup
    rooms.book_room(staff, "buergerraum", _at(first, 18), _at(first, 19), "Sitzung")
    second = first + timedelta(weeks=1)
    submitted = public_requests.submit(request_input(second), "de")
    with pytest.raises(Invalid) as refused:
        public_requests.submit(request_input(first), "de")
    assert refused.value.code == "room_taken"
    # a staff booking between submission and confirmation: the date is reported taken, nothing held
    rooms.book_room(staff, "buergerraum", _at(second, 19), _at(second, 20), "Sitzung")
    request, outcomes = public_requests.verify(submitted.token)
    assert [o.code for o in outcomes] == ["room_taken"] and request.status == "declined"
    assert [u.status for u in request.uses] == ["taken"]


def test_monthly_hours_blackouts_holidays_and_capacity(setup):
    room, first, _, _ = setup
    outcomes = public_requests.preview(request_input(first, start="18:00", end="22:00",
                                                     until=(first + timedelta(weeks=3)).isoformat()))[1]
    # 10 hours per month: two four-hour dates fit into one month, a third one does not
    months = {}
    for outcome in outcomes:
        key = outcome.start.astimezone(BERLIN).month
        months.setdefault(key, []).append(outcome.code)
    assert len(outcomes) == 4
    for codes in months.values():
        assert codes == [None] * min(2, len(codes)) + ["monthly_limit"] * (len(codes) - 2)
    room.public = {**room.public, "blackout_dates": [first.isoformat()]}
    db.session.commit()
    with pytest.raises(Invalid) as closed:
        public_requests.submit(request_input(first), "de")
    assert closed.value.code == "closed"
    with pytest.raises(Invalid) as outside:
        public_requests.submit(request_input(first + timedelta(weeks=1), start="09:00", end="10:00"), "de")
    assert outside.value.code == "outside_hours"
    with pytest.raises(Invalid) as crowded:
        public_requests.submit(request_input(first + timedelta(weeks=1), attendees="21"), "de")
    assert "attendees" in crowded.value.fields
    assert public_rooms.closed_reason(load_settings(), room, first.replace(month=1, day=1)) is not None  # New Year


def test_auto_approval_for_known_organisations(setup, calendar_calls):
    room, first, _, _ = setup
    room.public = {**room.public, "auto_approve": ["Seniorenbeirat"]}
    db.session.commit()
    submitted = public_requests.submit(request_input(first, organisation="Seniorenbeirat"), "de")
    request, _ = public_requests.verify(submitted.token)
    assert request.status == "approved" and calendar_calls.events[-1]["status"] == "CONFIRMED"


def test_cancel_one_date_then_the_rest_and_no_show(setup, clock, calendar_calls):
    _room, first, admin, _ = setup
    submitted = public_requests.submit(request_input(first, until=(first + timedelta(weeks=2)).isoformat()), "de")
    request, _ = public_requests.verify(submitted.token)
    _, manage = public_requests.approve(admin, request.id)
    second = request.uses[1]
    assert [u.id for u in public_requests.cancel(manage, second.id)] == [second.id]
    assert len(public_requests.cancel(manage)) == 2
    assert db.session.get(RoomRequest, request.id).status == "cancelled"
    with pytest.raises(Invalid):
        public_requests.cancel(manage)

    other = public_requests.submit(request_input(first, email="verein@example.org", organisation=None), "de")
    other_request, _ = public_requests.verify(other.token)
    public_requests.approve(admin, other_request.id)
    use = other_request.uses[0]
    with pytest.raises(Invalid):  # not begun yet
        public_requests.record_no_show(admin, use.id)
    clock.set(first, 21)
    public_requests.record_no_show(admin, use.id)
    assert db.session.get(RoomUse, use.id).no_show
    assert public_requests.no_show_count(db.session.get(RoomRequest, other_request.id)) == 1


def test_erasure_after_the_use_and_of_unconfirmed_requests(setup, clock):
    _room, first, admin, _ = setup
    unconfirmed_id = public_requests.submit(request_input(first), "de").request.id
    used = public_requests.submit(request_input(first + timedelta(weeks=1), email="b@example.org"), "de")
    request, _ = public_requests.verify(used.token)
    request_id = public_requests.approve(admin, request.id)[0].id
    clock.set(first - timedelta(days=1), 13)  # a day later: the unconfirmed one expired
    assert public_requests.erase_expired() == 1
    db.session.expire_all()
    assert db.session.get(RoomRequest, unconfirmed_id) is None
    days = load_settings()["public_erase_after_days"]
    clock.set(first + timedelta(weeks=1, days=days - 1), 12)
    assert public_requests.erase_expired() == 0
    clock.set(first + timedelta(weeks=1, days=days + 1), 12)
    assert public_requests.erase_expired() == 1
    db.session.expire_all()
    assert db.session.get(RoomRequest, request_id) is None


def test_an_event_in_the_rooms_own_calendar_takes_that_date_only(setup, calendar_calls):
    _room, first, _, _ = setup
    second = first + timedelta(weeks=1)
    submitted = public_requests.submit(request_input(first, until=second.isoformat()), "de")
    calendar_calls.busy["room:buergerraum"] = [(_at(second, 19), _at(second, 21))]  # e.g. from a CalDAV client
    request, outcomes = public_requests.verify(submitted.token)
    assert [o.code for o in outcomes] == [None, "room_taken"]
    assert [u.status for u in request.uses] == ["held", "taken"] and request.status == "pending"
