"""Slots far ahead against a real staff calendar (Radicale and Xandikos): the busy-time mirror covers
the furthest day any active service can be booked, and a staff member is never offered where her
calendar is not mirrored. Dates are computed from a reference Monday weeks after today (the
reference is passed as ``now`` everywhere), so the test reads the same at any hour and date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import icalendar
import pytest

from citizen_portal.booking.services import find_slots
from citizen_portal.core.extensions import db
from staff_calendar.calendars import mirror
from staff_calendar.calendars.models import CalendarSyncState
from tests.citizen_portal.booking.factories import make_site
from tests.factories import make_location, make_service, make_staff
from tests.fixtures.caldav_servers import link_calendar, put_remote_event

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
WEEKDAYS_8_TO_12 = {day: ["08:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
GRID = (8, 9, 10, 11)  # 60-minute appointments, 08:00-12:00
SERIES_WEEKS = 40  # weekly until ~280 days ahead: well beyond the default 90-day mirror and the 200-day horizon
EXDATE_WEEK, MOVED_WEEK, ALL_DAY_WEEK = 19, 21, 23  # 4-6 months ahead


def reference_monday() -> date:
    """A Monday at least two weeks ahead of the real date: the test's 'today'."""
    start = date.today() + timedelta(days=14)
    return start + timedelta(days=-start.weekday() % 7)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BER)


@pytest.fixture
def far_setup(app, caldav_server):
    """A 200-day service, one staff member with a real calendar holding a weekly Tuesday 09:00
    meeting (EXDATE in week 19, week 21 moved to Thursday 10:00), an all-day event in week 23 and a
    transparent event; the mirror horizon is left at its default (90 days)."""
    assert app.config["CALDAV_MIRROR_HORIZON_DAYS"] == 90
    monday = reference_monday()
    now = at(monday, 7).astimezone(UTC)
    make_site(holidays=None)
    location = make_location(opening_hours=dict(WEEKDAYS_8_TO_12))
    service = make_service(locations=[location], duration_minutes=60, min_lead_hours=0, horizon_days=200)
    member = make_staff(locations=[location], services=[service])
    link, remote = link_calendar(caldav_server, f"staff:{member.key}")
    member.calendar_key = link.key
    db.session.commit()

    tuesday = monday + timedelta(days=1)
    uid = "jour-fixe@rathaus.example"
    series = icalendar.Event.new(uid=uid, summary="Jour fixe", start=at(tuesday, 9), end=at(tuesday, 10))
    series.add("rrule", {"freq": "weekly", "count": SERIES_WEEKS})
    series.add("exdate", at(tuesday + timedelta(weeks=EXDATE_WEEK), 9))
    moved_from = tuesday + timedelta(weeks=MOVED_WEEK)
    moved = icalendar.Event.new(uid=uid, summary="Jour fixe (verschoben)", start=at(moved_from + timedelta(days=2), 10),
                                end=at(moved_from + timedelta(days=2), 11))
    moved.add("recurrence-id", at(moved_from, 9))
    put_remote_event(remote.calendar, series, moved)
    all_day = tuesday + timedelta(weeks=ALL_DAY_WEEK, days=1)
    put_remote_event(remote.calendar, icalendar.Event.new(uid="fortbildung@x.example", summary="Fortbildung",
                                                          start=all_day, end=all_day + timedelta(days=1)))
    free_anyway = at(tuesday + timedelta(weeks=ALL_DAY_WEEK + 1), 11)
    put_remote_event(remote.calendar, icalendar.Event.new(uid="info@x.example", summary="Info", start=free_anyway,
                                                          end=free_anyway + timedelta(hours=1),
                                                          transparency="TRANSPARENT"))
    return {"now": now, "monday": monday, "service": service, "link": link, "tuesday": tuesday,
            "moved_from": moved_from, "all_day": all_day}


def expected_slots(setup, first: date, last: date) -> list[datetime]:
    """Every weekday grid time that is no public holiday, minus the calendar's busy time."""
    tuesday = setup["tuesday"]
    busy_starts = {at(tuesday + timedelta(weeks=week), 9) for week in range(SERIES_WEEKS)
                   if week not in (EXDATE_WEEK, MOVED_WEEK)}
    busy_starts.add(at(setup["moved_from"] + timedelta(days=2), 10))
    public = holidays.country_holidays("DE", years=range(first.year, last.year + 1))
    expected = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in public and day != setup["all_day"]:
            expected += [at(day, hour) for hour in GRID if at(day, hour) not in busy_starts]
        day += timedelta(days=1)
    return [moment.astimezone(UTC) for moment in expected]


def slot_starts(setup, first: date, last: date) -> list[datetime]:
    return [slot.start for slot in find_slots(setup["service"].key, first, last, now=setup["now"])]


def test_a_200_day_service_gets_exactly_the_right_slots_four_to_six_months_ahead(far_setup):
    setup = far_setup
    result = mirror.sync_calendar(setup["link"].key, now=setup["now"])
    assert result.ok, result.error
    state = db.session.get(CalendarSyncState, setup["link"].key)
    last_bookable = setup["monday"] + timedelta(days=200)
    assert state.window_end >= at(last_bookable + timedelta(days=1), 0)  # the whole last day

    first, last = setup["monday"] + timedelta(days=120), setup["monday"] + timedelta(days=181)  # 62 days
    assert first <= setup["tuesday"] + timedelta(weeks=EXDATE_WEEK) < setup["all_day"] <= last
    got = slot_starts(setup, first, last)
    assert got == expected_slots(setup, first, last)
    tuesdays = {moment.astimezone(BER).hour for moment in got if moment.astimezone(BER).weekday() == 1}
    assert tuesdays == set(GRID)  # 09:00 is offered on Tuesdays only where the series is off
    end = last + timedelta(days=1)
    assert slot_starts(setup, end, last_bookable) == expected_slots(setup, end, last_bookable)
    assert slot_starts(setup, last_bookable + timedelta(days=1), last_bookable + timedelta(days=7)) == []


def test_a_staff_member_is_not_offered_beyond_her_mirrored_range(far_setup):
    setup = far_setup
    assert mirror.sync_calendar(setup["link"].key, now=setup["now"]).ok
    first, last = setup["monday"] + timedelta(days=120), setup["monday"] + timedelta(days=181)
    behind = setup["monday"] + timedelta(days=150)
    state = db.session.get(CalendarSyncState, setup["link"].key)
    state.window_end = at(behind, 0).astimezone(UTC)  # the mirror is behind: it reaches only this far
    state.last_success_at = datetime.now(UTC)  # as a sync writes it
    db.session.commit()
    assert slot_starts(setup, first, last) == expected_slots(setup, first, behind - timedelta(days=1))

    db.session.delete(state)  # never synced: nothing is known, nothing is offered
    db.session.commit()
    assert slot_starts(setup, setup["monday"], setup["monday"] + timedelta(days=30)) == []


def test_a_longer_horizon_re_expands_the_mirror_without_fetching_again(far_setup):
    setup = far_setup
    service = setup["service"]
    service.horizon_days = 30
    db.session.commit()
    assert mirror.sync_calendar(setup["link"].key, now=setup["now"]).ok
    first, last = setup["monday"] + timedelta(days=120), setup["monday"] + timedelta(days=181)
    service.horizon_days = 200  # e.g. a site file loaded with a longer horizon
    db.session.commit()
    assert slot_starts(setup, first, last) == []  # the mirror does not reach so far yet
    again = mirror.sync_calendar(setup["link"].key, now=setup["now"])
    assert again.ok and again.multigets == 0  # nothing changed remotely: re-expanded locally
    assert slot_starts(setup, first, last) == expected_slots(setup, first, last)
