"""All-day events through Graph (``isAllDay`` with midnight start and end) against a real Radicale: written
to CalDAV as dates (``DTSTART;VALUE=DATE``), read back as dates at midnight in calendarView (in any zone
asked for), busy in getSchedule for the whole day; times that are not midnight are 400 and nothing is
written; a PATCH moves it by whole days. Recurrence patterns other than daily/weekly are refused with a
clear error (``recurrence_not_supported``)."""

from __future__ import annotations

from datetime import date, timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from citizen_portal.core.extensions import db
from staff_calendar.calendars import outbox
from staff_calendar.calendars.models import GraphEvent
from tests.fixtures.caldav_servers import link_calendar
from tests.graph.helpers import TZ_PREFER, future_day, headers, staff_with_token, unreachable_calendar

pytestmark = pytest.mark.caldav
ZONE = "W. Europe Standard Time"


def _remote(calendar, uid: str) -> icalendar.Event:
    for obj in calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            if str(event["UID"]) == uid:
                return event
    raise AssertionError(f"{uid} not on the server")


def _all_day(first: date, days: int = 1, zone: str = ZONE, **extra) -> dict:
    return {"subject": "Fortbildung", "isAllDay": True, "showAs": "oof",
            "start": {"dateTime": f"{first.isoformat()}T00:00:00.0000000", "timeZone": zone},
            "end": {"dateTime": f"{(first + timedelta(days=days)).isoformat()}T00:00:00.0000000", "timeZone": zone},
            **extra}


def test_all_day_event_is_written_as_dates_and_read_back(app, client, radicale_server):
    link, remote = link_calendar(radicale_server)
    *_, staff, _user, token = staff_with_token(link.key)
    first = future_day(8).date()
    url = f"/graph/v1.0/users/{staff.email}/events"
    response = client.post(url, json=_all_day(first, 2), headers=headers(token))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["isAllDay"] is True
    assert created["start"] == {"dateTime": f"{first}T00:00:00.0000000", "timeZone": "UTC"}
    assert created["end"]["dateTime"] == f"{first + timedelta(days=2)}T00:00:00.0000000"
    assert outbox.drain().delivered == 1
    stored = _remote(remote.calendar, created["iCalUId"])
    assert stored["DTSTART"].dt == first and stored["DTEND"].dt == first + timedelta(days=2)
    assert b"DTSTART;VALUE=DATE:" in stored.to_ical()

    # calendarView in another zone: still the dates at midnight, named as the client named the zone
    view = client.get(f"/graph/v1.0/users/{staff.email}/calendarView?startDateTime={first}T00:00:00"
                      f"&endDateTime={first + timedelta(days=3)}T00:00:00",
                      headers=headers(token, Prefer='outlook.timezone="Pacific Standard Time"'))
    (item,) = [event for event in view.get_json()["value"] if event["id"] == created["id"]]
    assert item["isAllDay"] is True and item["showAs"] == "oof"
    assert item["start"] == {"dateTime": f"{first}T00:00:00.0000000", "timeZone": "Pacific Standard Time"}
    schedule = client.post(f"/graph/v1.0/users/{staff.email}/calendar/getSchedule", headers=headers(
        token, Prefer=TZ_PREFER), json={"schedules": [staff.email], "availabilityViewInterval": 360,
                                        "startTime": {"dateTime": f"{first}T00:00:00", "timeZone": ZONE},
                                        "endTime": {"dateTime": f"{first + timedelta(days=1)}T00:00:00",
                                                    "timeZone": ZONE}})
    assert schedule.get_json()["value"][0]["availabilityView"] == "3333"  # out of office all day

    # moved by a day (whole days kept), then no longer all-day
    later = first + timedelta(days=1)
    moved = client.patch(f"{url}/{created['id']}", headers=headers(token), json={
        "start": _all_day(later)["start"], "end": _all_day(later)["end"]})
    assert moved.status_code == 200, moved.get_json()
    assert outbox.drain().delivered == 1
    stored = _remote(remote.calendar, created["iCalUId"])
    assert stored["DTSTART"].dt == later and stored["DTEND"].dt == later + timedelta(days=1)
    timed = client.patch(f"{url}/{created['id']}", headers=headers(token), json={
        "isAllDay": False, "start": {"dateTime": f"{later}T09:00:00", "timeZone": ZONE},
        "end": {"dateTime": f"{later}T10:00:00", "timeZone": ZONE}})
    assert timed.status_code == 200 and timed.get_json()["isAllDay"] is False
    assert outbox.drain().delivered == 1
    stored = _remote(remote.calendar, created["iCalUId"])
    assert stored["DTSTART"].dt.hour == 9 and stored["DTSTART"].dt.date() == later


def test_all_day_needs_midnights_and_unsupported_recurrence_is_refused(app, client):
    *_, staff, _user, token = staff_with_token()
    unreachable_calendar(staff)
    first = future_day(8).date()
    url = f"/graph/v1.0/users/{staff.email}/events"
    noon = _all_day(first)
    noon["start"]["dateTime"] = f"{first}T12:00:00"
    answer = client.post(url, json=noon, headers=headers(token))
    assert answer.status_code == 400 and "start" in answer.get_json()["error"]["innerError"]["fields"]
    utc_midnight = client.post(url, json=_all_day(first, zone="UTC"), headers=headers(token))
    assert utc_midnight.status_code == 201  # midnight in the zone the client named
    series = client.post(url, headers=headers(token), json=_all_day(first, recurrence={
        "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": first.day},
        "range": {"type": "noEnd", "startDate": str(first)}}))
    assert series.status_code == 400
    error = series.get_json()["error"]
    assert error["code"] == "ErrorInvalidRequest" and error["innerError"]["code"] == "recurrence_not_supported"
    assert "recurrence" in error["innerError"]["fields"]
    assert db.session.scalar(select(func.count(GraphEvent.id))) == 1
