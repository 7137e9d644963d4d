"""Recurring events through Graph against a real Radicale: a weekly series is written as one VEVENT with
its RRULE, calendarView expands it (``type: occurrence``, ``seriesMasterId``; across a DST change the
wall-clock time stays), the series master is read with its ``recurrence``, getSchedule shows every
occurrence busy, and a citizen cannot book at an occurrence in a later week; daily series with an end
date; single occurrences cannot be changed; unsupported patterns are 400."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import icalendar
import pytest

from citizen_portal.booking import services as booking
from citizen_portal.booking.services.appointments import BookingRequest
from citizen_portal.core.errors import Conflict
from staff_calendar.calendars import outbox
from tests.citizen_portal.booking.factories import contact
from tests.factories import stamp_mirror
from tests.fixtures.caldav_servers import link_calendar
from tests.graph.helpers import BER, TZ_PREFER, future_day, headers, staff_with_token

pytestmark = pytest.mark.caldav
ZONE = "W. Europe Standard Time"


def _series(day, hour: int, recurrence: dict) -> dict:
    return {"subject": "Jour fixe", "recurrence": recurrence,
            "start": {"dateTime": f"{day.date()}T{hour:02d}:00:00", "timeZone": ZONE},
            "end": {"dateTime": f"{day.date()}T{hour:02d}:30:00", "timeZone": ZONE}}


def _view(client, token, mail, first, days):
    answer = client.get(f"/graph/v1.0/users/{mail}/calendarView?startDateTime={first.date()}T00:00:00"
                        f"&endDateTime={(first + timedelta(days=days)).date()}T00:00:00&$top=100",
                        headers=headers(token, Prefer=TZ_PREFER))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["value"]


def test_weekly_series_is_written_expanded_and_blocks_appointments(app, client, radicale_server):
    link, remote = link_calendar(radicale_server)
    location, service, staff, _user, token = staff_with_token(link.key)
    stamp_mirror(link.key)
    first = future_day(3)
    weekday = first.strftime("%A").lower()
    url = f"/graph/v1.0/users/{staff.email}/events"
    made = client.post(url, headers=headers(token), json=_series(first, 9, {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
        "range": {"type": "numbered", "startDate": str(first.date()), "numberOfOccurrences": 3}}))
    assert made.status_code == 201, made.get_json()
    master = made.get_json()
    assert master["type"] == "seriesMaster" and master["recurrence"]["range"]["numberOfOccurrences"] == 3
    assert outbox.drain().delivered == 1
    (stored,) = [e for obj in remote.calendar.get_events()
                 for e in icalendar.Calendar.from_ical(obj.data).walk("VEVENT") if str(e["UID"]) == master["iCalUId"]]
    rule = stored["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["COUNT"] == [3] and rule["BYDAY"] == [weekday[:2].upper()]

    items = [i for i in _view(client, token, staff.email, first, 28) if i["iCalUId"] == master["iCalUId"]]
    assert [i["start"]["dateTime"] for i in items] == [
        f"{(first + timedelta(days=7 * n)).date()}T09:00:00.0000000" for n in range(3)]  # 09:00 even over DST
    assert {i["type"] for i in items} == {"occurrence"} and {i["seriesMasterId"] for i in items} == {master["id"]}
    second = items[1]
    got = client.get(f"{url}/{second['id']}", headers=headers(token)).get_json()
    assert got["type"] == "occurrence" and got["subject"] == "Jour fixe"

    week_two = first + timedelta(days=7)
    schedule = client.post(f"/graph/v1.0/users/{staff.email}/calendar/getSchedule", headers=headers(
        token, Prefer=TZ_PREFER), json={"schedules": [staff.email], "availabilityViewInterval": 30,
                                        "startTime": {"dateTime": f"{week_two.date()}T08:30:00", "timeZone": ZONE},
                                        "endTime": {"dateTime": f"{week_two.date()}T10:00:00", "timeZone": ZONE}})
    assert schedule.get_json()["value"][0]["availabilityView"] == "020"
    with pytest.raises(Conflict) as blocked:  # the occurrence in week two blocks her for citizens
        booking.book(BookingRequest(service.key, location.key,
                                    datetime.combine(week_two.date(), time(9), tzinfo=BER), contact()))
    assert blocked.value.code == "slot_taken"
    free = booking.book(BookingRequest(service.key, location.key,
                                       datetime.combine(week_two.date(), time(10), tzinfo=BER), contact()))
    assert free.appointment.id

    # a single occurrence is changed only with its series; the series moves as a whole
    refused = client.patch(f"{url}/{second['id']}", headers=headers(token), json={"subject": "x"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["innerError"]["code"] == "occurrence_not_supported"
    assert client.delete(f"{url}/{second['id']}", headers=headers(token)).status_code == 400
    no_rule_change = client.patch(f"{url}/{master['id']}", headers=headers(token), json={"recurrence": None})
    assert no_rule_change.status_code == 400
    moved = client.patch(f"{url}/{master['id']}", headers=headers(token), json={
        "start": {"dateTime": f"{first.date()}T11:00:00", "timeZone": ZONE},
        "end": {"dateTime": f"{first.date()}T11:30:00", "timeZone": ZONE}})
    assert moved.status_code == 200, moved.get_json()
    items = [i for i in _view(client, token, staff.email, first, 28) if i["iCalUId"] == master["iCalUId"]]
    assert [i["start"]["dateTime"][11:16] for i in items] == ["11:00"] * 3
    assert client.delete(f"{url}/{master['id']}", headers=headers(token)).status_code == 204
    assert [i for i in _view(client, token, staff.email, first, 28) if i["iCalUId"] == master["iCalUId"]] == []


def test_daily_series_with_end_date_and_unsupported_patterns(app, client, radicale_server):
    link, _remote = link_calendar(radicale_server)
    *_, staff, _user, token = staff_with_token(link.key)
    first = future_day(3)
    url = f"/graph/v1.0/users/{staff.email}/events"
    last = first + timedelta(days=4)
    made = client.post(url, headers=headers(token), json=_series(first, 14, {
        "pattern": {"type": "daily", "interval": 2},
        "range": {"type": "endDate", "startDate": str(first.date()), "endDate": str(last.date())}}))
    assert made.status_code == 201, made.get_json()
    items = [i for i in _view(client, token, staff.email, first, 10) if i["iCalUId"] == made.get_json()["iCalUId"]]
    assert [i["start"]["dateTime"][:10] for i in items] == [str((first + timedelta(days=n)).date()) for n in (0, 2, 4)]
    for recurrence in ({"pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 3},
                        "range": {"type": "numbered", "numberOfOccurrences": 3}},
                       {"pattern": {"type": "weekly", "interval": 1}, "range": {"type": "noEnd"}},
                       {"pattern": {"type": "daily", "interval": 1},
                        "range": {"type": "numbered", "numberOfOccurrences": 100000}},
                       {"pattern": {"type": "daily", "interval": 1},
                        "range": {"type": "numbered", "startDate": "2000-01-01", "numberOfOccurrences": 2}}):
        answer = client.post(url, headers=headers(token), json=_series(first, 16, recurrence))
        assert answer.status_code == 400, recurrence
        assert answer.get_json()["error"]["innerError"]["code"] == "recurrence_not_supported"
