"""Graph calendar endpoints with the Flask client against a real Radicale: events written through Graph
reach the staff member's CalDAV calendar (outbox), calendarView shows every event of the calendar
(other clients' ones, series expanded, private ones without subject; citizens' appointments),
getSchedule, If-Match, transactionId, delta."""

from __future__ import annotations

from datetime import UTC, timedelta

import icalendar
import pytest

from citizen_portal.booking import services as booking
from citizen_portal.booking.services.appointments import BookingRequest
from citizen_portal.core.api_tokens import create_api_token
from staff_calendar.calendars import mirror, outbox
from tests.citizen_portal.booking.factories import contact
from tests.factories import make_user, stamp_mirror
from tests.fixtures.caldav_servers import link_calendar, put_remote_event
from tests.graph.helpers import BER, TZ_PREFER, future_day, headers, staff_with_token

pytestmark = pytest.mark.caldav


def remote_uids(calendar) -> dict[str, icalendar.Event]:
    found = {}
    for obj in calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            found[str(event["UID"])] = event
    return found


def event_body(day, hour: int, subject: str = "Abstimmung Bauamt", **extra):
    return {"@odata.type": "#microsoft.graph.event", "subject": subject,
            "body": {"contentType": "html", "content": "<p>Agenda</p>"},
            "start": {"dateTime": day.replace(hour=hour).strftime("%Y-%m-%dT%H:%M:%S"),
                      "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": day.replace(hour=hour, minute=30).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "W. Europe Standard Time"},
            "location": {"displayName": "Raum 1.01"},
            "attendees": [{"type": "required", "emailAddress": {"address": "max@example.org", "name": "Max"}}],
            **extra}


def test_event_lifecycle_reaches_radicale(app, client, radicale_server):
    link, remote = link_calendar(radicale_server)
    *_, staff, _user, token = staff_with_token(link.key)
    day = future_day()
    url = f"/graph/v1.0/users/{staff.email.replace('@', '%40')}/events"
    response = client.post(url, json=event_body(day, 9, transactionId="tx-1"), headers=headers(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert "/" not in created["id"]
    assert created["iCalUId"].endswith("@" + app.config["EVENT_UID_DOMAIN"])
    assert created["start"] == {"dateTime": day.replace(hour=9).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                "timeZone": "UTC"}
    # the SDK retries POSTs: the same transactionId gives the same event, not a second one
    again = client.post(f"/graph/v1.0/users/staff-{staff.key}/calendar/events",
                        json=event_body(day, 9, transactionId="tx-1"), headers=headers(token))
    assert again.status_code == 201 and again.get_json()["id"] == created["id"]

    assert outbox.drain().delivered == 1
    stored = remote_uids(remote.calendar)[created["iCalUId"]]
    assert str(stored["SUMMARY"]) == "Abstimmung Bauamt"
    assert stored["DTSTART"].dt.astimezone(BER).hour == 9

    # GET with Prefer: the times in the zone asked for, echoed in Preference-Applied
    got = client.get(f"{url}/{created['id']}", headers=headers(token, Prefer=TZ_PREFER))
    assert got.headers["Preference-Applied"] == TZ_PREFER
    assert got.get_json()["start"] == {"dateTime": day.replace(hour=9).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                       "timeZone": "W. Europe Standard Time"}

    # PATCH with a stale If-Match → 412, nothing changed; with the current one → 200 and a new changeKey
    stale = client.patch(f"{url}/{created['id']}", json={"subject": "neu"},
                         headers=headers(token, **{"If-Match": 'W/"old"'}))
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "ErrorIrresolvableConflict"
    patched = client.patch(f"{url}/{created['id']}", json={"subject": "verschoben", "showAs": "tentative"},
                           headers=headers(token, **{"If-Match": created["@odata.etag"]}))
    assert patched.status_code == 200
    assert patched.get_json()["subject"] == "verschoben"
    assert patched.get_json()["changeKey"] != created["changeKey"]
    assert patched.get_json()["start"]["dateTime"] == created["start"]["dateTime"]
    assert outbox.drain().delivered == 1
    assert str(remote_uids(remote.calendar)[created["iCalUId"]]["SUMMARY"]) == "verschoben"

    # bad input: a clear 400, nothing changes
    bad = client.patch(f"{url}/{created['id']}", json={"showAs": "sometimes"}, headers=headers(token))
    assert bad.status_code == 400 and "showAs" in bad.get_json()["error"]["innerError"]["fields"]
    backwards = client.post(url, json=event_body(day, 10) | {"end": {"dateTime": "2000-01-01T00:00:00"}},
                            headers=headers(token))
    assert backwards.status_code == 400
    series = client.post(url, json=event_body(day, 10, recurrence={"pattern": {"type": "weekly"}}),
                         headers=headers(token))
    assert series.status_code == 400 and "recurrence" in series.get_json()["error"]["innerError"]["fields"]

    # cancel keeps it as cancelled; delete removes it here and on the server
    assert client.post(f"{url}/{created['id']}/cancel", json={"comment": "entfällt"},
                       headers=headers(token)).status_code == 202
    assert client.get(f"{url}/{created['id']}", headers=headers(token)).get_json()["isCancelled"] is True
    assert client.delete(f"{url}/{created['id']}", headers=headers(token)).status_code == 204
    assert client.get(f"{url}/{created['id']}", headers=headers(token)).status_code == 404
    outbox.drain()
    assert created["iCalUId"] not in remote_uids(remote.calendar)


def test_calendar_view_shows_every_event_and_get_schedule_busy(app, client, radicale_server):
    link, remote = link_calendar(radicale_server)
    location, service, staff, _user, token = staff_with_token(link.key)
    day = future_day(12)
    # another client's weekly series (3 occurrences in the range) and a private event
    series = icalendar.Event.new(uid="weekly-1@other.example", summary="Jour fixe", start=day.replace(hour=13),
                                 end=day.replace(hour=14))
    series.add("rrule", {"freq": "weekly", "count": 3})
    private = icalendar.Event.new(uid="private-1@other.example", summary="Arzttermin", start=day.replace(hour=10),
                                  end=day.replace(hour=11))
    private.add("class", "PRIVATE")
    free = icalendar.Event.new(uid="free-1@other.example", summary="Mittagspause", start=day.replace(hour=12),
                               end=day.replace(hour=13))
    free.add("transp", "TRANSPARENT")  # no busy rows in the mirror: still shown, as free
    put_remote_event(remote.calendar, series)
    put_remote_event(remote.calendar, private)
    put_remote_event(remote.calendar, free)
    assert mirror.sync_calendar(link.key).error is None
    stamp_mirror(link.key)
    # a citizen's web booking with this staff member
    result = booking.book(BookingRequest(service.key, location.key, day.replace(hour=8), contact()))
    ours = client.post(f"/graph/v1.0/users/staff-{staff.key}/events", json=event_body(day, 11),
                       headers=headers(token)).get_json()

    params = {"startDateTime": day.isoformat(), "endDateTime": (day + timedelta(days=21)).isoformat(),
              "$top": "4", "$orderby": "start/dateTime"}
    page = client.get(f"/graph/v1.0/users/staff-{staff.key}/calendarView", query_string=params,
                      headers=headers(token, Prefer=TZ_PREFER)).get_json()
    items = page["value"]
    while "@odata.nextLink" in page:
        page = client.get(page["@odata.nextLink"].replace("http://localhost", ""), headers=headers(token)).get_json()
        items += page["value"]
    subjects = [(item["subject"], item["type"]) for item in items]
    assert subjects.count(("Jour fixe", "occurrence")) == 3
    assert (None, "singleInstance") in subjects  # the private event: busy time without subject
    assert "Arzttermin" not in str(items)
    assert (ours["subject"], "singleInstance") in subjects
    assert next(item for item in items if item["subject"] == "Mittagspause")["showAs"] == "free"
    assert any(result.appointment.code in (item["subject"] or "") for item in items)
    occurrence = next(item for item in items if item["subject"] == "Jour fixe")
    assert client.get(f"/graph/v1.0/users/staff-{staff.key}/events/{occurrence['id']}",
                      headers=headers(token)).get_json()["subject"] == "Jour fixe"

    schedule = client.post(f"/graph/v1.0/users/staff-{staff.key}/calendar/getSchedule",
                           headers=headers(token, Prefer=TZ_PREFER),
                           json={"Schedules": [staff.email, "nobody@example.org"],
                                 "StartTime": {"dateTime": day.replace(hour=8).strftime("%Y-%m-%dT%H:%M:%S"),
                                               "timeZone": "W. Europe Standard Time"},
                                 "EndTime": {"dateTime": day.replace(hour=14).strftime("%Y-%m-%dT%H:%M:%S"),
                                             "timeZone": "W. Europe Standard Time"},
                                 "AvailabilityViewInterval": "60"}).get_json()
    info, unknown = schedule["value"]
    # 08 appointment, 09 free, 10 private, 11 ours, 12 free, 13 series
    assert info["availabilityView"] == "202202"
    assert {item["isPrivate"] for item in info["scheduleItems"]} == {True, False}
    assert info["workingHours"]["daysOfWeek"][0] == "monday"
    assert unknown["error"]["responseCode"] == "ErrorMailRecipientNotFound"

    # the Graph event blocks the staff member for citizens: 11:00 is not offered any more
    offered = [slot.start.astimezone(BER).strftime("%H:%M") for slot in booking.find_slots(service.key, day.date(),
                                                                                            day.date())]
    assert "11:00" not in offered and "11:30" in offered


def test_delta_reports_changes_and_removals(app, client, radicale_server):
    link, _remote = link_calendar(radicale_server)
    *_, staff, _user, token = staff_with_token(link.key)
    day = future_day(14)
    url = f"/graph/v1.0/users/staff-{staff.key}"
    first = client.post(f"{url}/events", json=event_body(day, 9), headers=headers(token)).get_json()
    params = {"startDateTime": day.isoformat(), "endDateTime": (day + timedelta(days=1)).isoformat()}
    round1 = client.get(f"{url}/calendarView/delta()", query_string=params, headers=headers(token)).get_json()
    assert [item["id"] for item in round1["value"]] == [first["id"]]
    link1 = round1["@odata.deltaLink"]
    assert link1.startswith("http://localhost/graph/v1.0/") and "$deltatoken=" in link1
    second = client.post(f"{url}/events", json=event_body(day, 10, "Zweiter"), headers=headers(token)).get_json()
    client.delete(f"{url}/events/{first['id']}", headers=headers(token))
    round2 = client.get(link1.replace("http://localhost", ""), headers=headers(token)).get_json()
    assert {item["id"]: "@removed" in item for item in round2["value"]} == {second["id"]: False, first["id"]: True}
    round3 = client.get(round2["@odata.deltaLink"].replace("http://localhost", ""), headers=headers(token)).get_json()
    assert round3["value"] == []
    gone = client.get(f"{url}/calendarView/delta?$deltatoken=unknown", headers=headers(token))
    assert gone.status_code == 410


def test_writing_into_a_colleagues_calendar_is_forbidden(app, client, radicale_server):
    link, _ = link_calendar(radicale_server)
    *_, staff, _user, _token = staff_with_token(link.key)

    make_user("kollegin")
    other = create_api_token("kollegin", "t")
    response = client.post(f"/graph/v1.0/users/staff-{staff.key}/events", json=event_body(future_day(), 9),
                           headers=headers(other))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "ErrorAccessDenied"
