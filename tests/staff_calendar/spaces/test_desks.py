"""Desk booking rules through the services and the HTML forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from citizen_portal.core.errors import Conflict, Forbidden, Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings, User
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import DeskBooking
from staff_calendar.spaces.services import desks
from staff_calendar.spaces.services.common import Actor
from tests.staff_calendar.spaces.factories import (
    login_as,
    make_desk,
    make_floor,
    make_site,
    open_day,
    open_days_in_week,
)


def make_person(username="anna", roles="staff", calendar=True, **kw) -> tuple[User, Actor]:
    user = User(username=username, display_name=username.title(), roles=roles, **kw)
    db.session.add(user)
    if calendar:
        db.session.add(CalendarLink(key=f"staff:{username}", owner_kind="staff", owner_key=username,
                                    url=f"http://127.0.0.1:1/{username}/"))
    db.session.commit()
    return user, Actor.of(user)


@pytest.fixture
def setup(app, calendar_calls):
    make_site()
    floor = make_floor("f1")
    return {"floor": floor, "d1": make_desk(floor, "d1"), "d2": make_desk(floor, "d2", attributes=["standing"]),
            "calendar": calendar_calls}


def test_whole_day_books_both_halves_with_one_transparent_event(setup):
    _user, anna = make_person()
    day = open_day(1)
    rows = desks.book_desk(anna, "d1", day, "day")
    assert sorted(r.half for r in rows) == ["afternoon", "morning"]
    assert len({r.group_uid for r in rows}) == 1
    [event] = setup["calendar"].events
    assert event["calendar_key"] == "staff:anna"
    assert event["transparent"] is True
    assert event["start"].astimezone(UTC) < event["end"].astimezone(UTC)
    assert setup["calendar"].drains == 1


def test_half_days_of_one_desk_go_to_different_people(setup):
    _u1, anna = make_person("anna")
    _u2, ben = make_person("ben")
    day = open_day(1)
    desks.book_desk(anna, "d1", day, "morning")
    desks.book_desk(ben, "d1", day, "afternoon")
    with pytest.raises(Conflict) as taken:
        desks.book_desk(ben, "d1", day, "morning")
    assert taken.value.code in {"desk_taken", "already_booked"}
    free = {item.desk.key: item.free for item in desks.desk_availability(day)}
    assert free["d1"] == {"morning": False, "afternoon": False}
    assert free["d2"] == {"morning": True, "afternoon": True}


def test_one_desk_per_person_per_half_day(setup):
    _user, anna = make_person()
    day = open_day(1)
    desks.book_desk(anna, "d1", day, "morning")
    with pytest.raises(Conflict) as error:
        desks.book_desk(anna, "d2", day, "day")
    assert error.value.code == "already_booked"
    desks.book_desk(anna, "d2", day, "afternoon")


def test_weekly_limit_counts_half_days_as_half(setup):
    _user, anna = make_person()
    site = db.session.scalars(select(SiteSettings)).one()
    site.settings = {**site.settings, "spaces": {**site.settings["spaces"], "horizon_days": 60}}
    db.session.commit()
    # the first full future week with four working days (holiday weeks such as Christmas are passed over)
    monday = open_day(7) - timedelta(days=open_day(7).weekday())
    week = open_days_in_week(monday, 5)
    while len(week) < 4:
        monday += timedelta(days=7)
        week = open_days_in_week(monday, 5)
    desks.book_desk(anna, "d1", week[0], "day")
    desks.book_desk(anna, "d1", week[1], "day")
    desks.book_desk(anna, "d1", week[2], "morning")
    desks.book_desk(anna, "d1", week[3], "afternoon")  # 3.0 of 3
    with pytest.raises(Conflict) as error:
        desks.book_desk(anna, "d2", week[2], "afternoon")
    assert error.value.code == "weekly_limit"


def test_floor_overrides_the_weekly_limit(setup):
    setup["floor"].desk_days_per_week = 1
    db.session.commit()
    _user, anna = make_person()
    monday = open_day(7) - timedelta(days=open_day(7).weekday())
    week = open_days_in_week(monday, 5)
    desks.book_desk(anna, "d1", week[0], "day")
    with pytest.raises(Conflict):
        desks.book_desk(anna, "d1", week[1], "morning")


def test_horizon_past_weekend_holiday_and_closure(setup, app):
    _user, anna = make_person()
    with pytest.raises(Invalid) as error:
        desks.book_desk(anna, "d1", open_day(20), "day")
    assert error.value.code == "beyond_horizon"
    with pytest.raises(Invalid):
        desks.book_desk(anna, "d1", open_day(1) - timedelta(days=3), "day")
    saturday = open_day(1) + timedelta(days=(5 - open_day(1).weekday()) % 7)
    with pytest.raises(Invalid) as error:
        desks.book_desk(anna, "d1", saturday, "day")
    assert error.value.code == "closed"
    closed = open_day(2)
    from citizen_portal.core.models import SiteSettings

    site = db.session.query(SiteSettings).one()
    site.settings = {**site.settings, "closures": [closed.isoformat()]}
    db.session.commit()
    with pytest.raises(Invalid) as error:
        desks.book_desk(anna, "d1", closed, "day")
    assert error.value.code == "closed"


def test_public_holiday_of_the_bundesland_is_closed():
    from datetime import date

    from staff_calendar.spaces.services.common import SpacesContext, closed_reason

    settings = SpacesContext(bundesland="BW")
    assert closed_reason(settings, date(2026, 1, 6)) is not None  # Heilige Drei Könige in BW
    assert closed_reason(SpacesContext(bundesland="BE"), date(2026, 1, 6)) is None
    assert closed_reason(settings, date(2026, 12, 25)) is not None


def test_blocked_desk_cannot_be_booked(setup):
    from staff_calendar.spaces.services import blocks

    _user, anna = make_person()
    _admin, root = make_person("root", roles="admin")
    day = open_day(1)
    with pytest.raises(Forbidden):
        blocks.create_block(anna, desk_key="d1", room_key=None, first_day=day, last_day=day, reason="Umbau")
    blocks.create_block(root, desk_key="d1", room_key=None, first_day=day, last_day=day, reason="Umbau")
    with pytest.raises(Conflict) as error:
        desks.book_desk(anna, "d1", day, "day")
    assert error.value.code == "blocked"
    [item] = [i for i in desks.desk_availability(day) if i.desk.key == "d1"]
    assert item.blocked_reason == "Umbau" and item.free == {"morning": False, "afternoon": False}


def test_series_reports_each_date(setup):
    _u1, anna = make_person("anna")
    _u2, ben = make_person("ben")
    first = open_day(1)
    desks.book_desk(ben, "d1", first, "morning")
    results = desks.book_desk_series(anna, "d1", "day", (first.weekday(),), first, 8)
    assert len(results) == 8
    assert results[0].booked is False and "gebucht" in results[0].reason
    assert sum(r.booked for r in results) >= 5  # holidays may fall on some dates
    for result in results:
        if not result.booked:
            assert result.reason


def test_cancel_half_of_a_day_shrinks_the_event_and_cancel_rest_removes_it(setup):
    _user, anna = make_person()
    day = open_day(1)
    rows = desks.book_desk(anna, "d1", day, "day")
    desks.cancel_desk_booking(anna, rows[0].id, "morning")
    remaining = db.session.query(DeskBooking).all()
    assert [r.half for r in remaining] == ["afternoon"]
    assert len(setup["calendar"].events) == 2  # create + shrink, same uid
    assert setup["calendar"].events[0]["uid"] == setup["calendar"].events[1]["uid"]
    desks.cancel_desk_booking(anna, remaining[0].id, "day")
    assert db.session.query(DeskBooking).count() == 0
    assert setup["calendar"].removals == [{"calendar_key": "staff:anna", "uid": setup["calendar"].events[0]["uid"]}]


def test_only_the_owner_or_an_admin_cancels(setup):
    _u1, anna = make_person("anna")
    _u2, ben = make_person("ben")
    _u3, root = make_person("root", roles="admin")
    rows = desks.book_desk(anna, "d1", open_day(1), "day")
    with pytest.raises(Forbidden):
        desks.cancel_desk_booking(ben, rows[0].id)
    desks.cancel_desk_booking(root, rows[0].id)


def test_no_calendar_link_means_no_event(setup):
    _user, anna = make_person(calendar=False)
    desks.book_desk(anna, "d1", open_day(1), "day")
    assert setup["calendar"].events == []


def test_check_in_and_auto_release(setup, app):
    from citizen_portal.core.models import SiteSettings
    from staff_calendar.spaces.services import housekeeping
    from staff_calendar.spaces.services.common import today_local

    site = db.session.query(SiteSettings).one()
    site.settings = {"spaces": {**site.settings["spaces"], "checkin": True}}
    db.session.commit()
    _u1, anna = make_person("anna")
    _u2, ben = make_person("ben")
    today = today_local()
    db.session.add_all([
        DeskBooking(desk_id=setup["d1"].id, user_id=anna.id, day=today, half="morning", group_uid="g1"),
        DeskBooking(desk_id=setup["d1"].id, user_id=anna.id, day=today, half="afternoon", group_uid="g1"),
        DeskBooking(desk_id=setup["d2"].id, user_id=ben.id, day=today, half="morning", group_uid="g2"),
    ])
    db.session.commit()
    desks.check_in_at_desk(anna, "d1")
    from zoneinfo import ZoneInfo

    at_nine = datetime.combine(today, datetime.min.time().replace(hour=9), tzinfo=ZoneInfo("Europe/Berlin"))
    assert housekeeping.release_unchecked(at_nine) == 0
    assert housekeeping.release_unchecked(at_nine + timedelta(hours=1, minutes=1)) == 1
    left = db.session.query(DeskBooking).all()
    assert {(r.user_id, r.half) for r in left} == {(anna.id, "morning"), (anna.id, "afternoon")}
    assert setup["calendar"].removals and setup["calendar"].removals[0]["calendar_key"] == "staff:ben"


def test_release_is_off_without_checkin(setup):
    from staff_calendar.spaces.services import housekeeping

    assert housekeeping.release_unchecked(datetime.now(UTC)) == 0


def test_retention_deletes_old_bookings(setup):
    from staff_calendar.spaces.models import RoomBooking
    from staff_calendar.spaces.services import housekeeping
    from staff_calendar.spaces.services.common import today_local
    from tests.staff_calendar.spaces.factories import make_room

    _user, anna = make_person()
    room = make_room(setup["floor"], "r1")
    old = today_local() - timedelta(days=91)
    recent = today_local() - timedelta(days=89)
    now = datetime.now(UTC)
    db.session.add_all([
        DeskBooking(desk_id=setup["d1"].id, user_id=anna.id, day=old, half="morning", group_uid="a"),
        DeskBooking(desk_id=setup["d1"].id, user_id=anna.id, day=recent, half="morning", group_uid="b"),
        RoomBooking(room_id=room.id, user_id=anna.id, start_at=now - timedelta(days=92),
                    end_at=now - timedelta(days=91, hours=23), title="alt", uid="x1"),
        RoomBooking(room_id=room.id, user_id=anna.id, start_at=now - timedelta(days=2),
                    end_at=now - timedelta(days=2) + timedelta(hours=1), title="neu", uid="x2"),
    ])
    db.session.commit()
    counts = housekeeping.purge_expired()
    assert counts["desk_bookings"] == 1 and counts["room_bookings"] == 1
    assert [b.day for b in db.session.query(DeskBooking)] == [recent]


def test_html_booking_and_cancel(setup, client):
    user, _anna = make_person()
    login_as(client, user)
    day = open_day(1)
    page = client.get(f"/arbeitsplaetze/buchen?date={day.isoformat()}")
    assert page.status_code == 200 and "Platz d1" in page.get_data(as_text=True)
    response = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": day.isoformat(), "part": "morning"})
    assert response.status_code == 303
    week = client.get("/arbeitsplaetze/").get_data(as_text=True)
    assert "Platz d1" in week and "Vormittag" in week
    again = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": day.isoformat(), "part": "morning"})
    assert again.status_code == 409 and "error-summary" in again.get_data(as_text=True)
    bad = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": "morgen", "part": "x"})
    assert bad.status_code == 400
    booking = db.session.query(DeskBooking).one()
    assert client.post(f"/arbeitsplaetze/buchungen/{booking.id}/stornieren", data={"part": "day"}).status_code == 303
    assert db.session.query(DeskBooking).count() == 0


def test_series_form_shows_the_report(setup, client):
    user, _anna = make_person()
    login_as(client, user)
    first = open_day(1)
    response = client.post("/arbeitsplaetze/serie", data={
        "desk": "d1", "part": "morning", "first_day": first.isoformat(), "weeks": "3",
        "weekdays": [str(first.weekday())]})
    assert response.status_code == 200
    assert "Ergebnis je Tag" in response.get_data(as_text=True)


def test_pages_need_login(client, app):
    response = client.get("/arbeitsplaetze/buchen")
    assert response.status_code in (302, 401)


def test_floor_plan_and_filters(setup, client):
    setup["d1"].x, setup["d1"].y = 10.0, 20.0
    db.session.commit()
    user, _anna = make_person()
    login_as(client, user)
    day = open_day(1)
    page = client.get(f"/arbeitsplaetze/buchen?date={day.isoformat()}&floor=f1&attribute=standing")
    body = page.get_data(as_text=True)
    assert "Platz d2" in body and "Platz d1</" not in body
    page = client.get(f"/arbeitsplaetze/buchen?date={day.isoformat()}&floor=f1")
    assert "<svg" in page.get_data(as_text=True)
