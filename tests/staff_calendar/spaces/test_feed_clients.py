"""The personal feed as calendar clients see it (issue 17.6): named, refresh hint, stable bytes and ETag
with 304, no dangling separators, random UIDs, the room as ``ATTENDEE;CUTYPE=ROOM``; every variant read by
three strict parsers (icalendar, ical, vobject)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream

from staff_calendar import services as calendar_services
from staff_calendar.spaces.services import desks, feeds, rooms
from tests.staff_calendar.spaces.factories import open_day
from tests.staff_calendar.spaces.test_desks import make_person
from tests.staff_calendar.spaces.test_rooms_api_feeds import at
from tests.staff_calendar.spaces.test_rooms_api_feeds import setup as setup


def _feed(client, token, **headers):
    return client.get(f"/arbeitsplaetze/kalender/{token}.ics", headers=headers)


def _strict(data: bytes) -> icalendar.Calendar:
    text = data.decode()
    IcsCalendarStream.calendar_from_ics(text)  # raises on anything RFC 5545 forbids
    parsed = vobject.readOne(text)
    assert parsed.name == "VCALENDAR"
    return icalendar.Calendar.from_ical(data)


def test_feed_is_named_refreshes_and_names_the_room(setup, client, app):
    _user, anna = make_person()
    day = open_day(1)
    desks.book_desk(anna, "d1", day, "day")
    booking = rooms.book_room(anna, "r1", at(day, 9), at(day, 10), "Jour fixe")
    token = feeds.create_feed_token(anna)

    response = _feed(client, token)
    assert response.status_code == 200
    calendar = _strict(response.data)
    name = str(calendar["X-WR-CALNAME"])
    assert name == str(calendar["NAME"]) and name.startswith("Arbeitsplätze und Räume – ")
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.data
    events = {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}
    room_event = events["Jour fixe"]
    attendee = room_event["ATTENDEE"]
    assert attendee.params["CUTYPE"] == "ROOM"
    assert str(attendee) == f"mailto:raum-r1@{app.config['EVENT_UID_DOMAIN']}"
    # the booker is not named in the feed: no trailing ", "
    assert str(room_event["DESCRIPTION"]) == "Raumbuchung: Raum r1, 1 Person"
    for event in events.values():
        assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt
        uid = str(event["UID"])
        # random: 32 hex digits after the kind, never the database id
        assert len(uid.split("@")[0].split("-", 1)[1]) == 32
    assert str(room_event["UID"]) != calendar_services.event_uid("room", booking.id)


def test_feed_bytes_are_stable_and_answer_304(setup, client):
    _user, anna = make_person()
    day = open_day(2)
    rooms.book_room(anna, "r1", at(day, 9), at(day, 10), "Jour fixe")
    token = feeds.create_feed_token(anna)

    first = _feed(client, token)
    second = _feed(client, token)
    assert first.data == second.data  # DTSTAMP is the booking's time, not the clock
    etag = first.headers["ETag"]
    assert etag and etag == second.headers["ETag"]
    not_modified = _feed(client, token, **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""

    rooms.book_room(anna, "r1", at(day, 11), at(day, 12), "Zweiter Termin")
    changed = _feed(client, token, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(_strict(changed.data).walk("VEVENT")) == 2


def test_room_event_in_the_staff_calendar_names_the_room(setup):
    """What the outbox would PUT for a room booking carries the room as ATTENDEE;CUTYPE=ROOM."""
    from citizen_portal.core.i18n import site_timezone
    from staff_calendar.calendars import ical, outbox

    _user, anna = make_person()
    day = open_day(1)
    rooms.book_room(anna, "r1", at(day, 9), at(day, 10), "Jour fixe")
    [call] = [c for c in setup["calendar"].events if c["calendar_key"] == "room:r1"]
    assert call["description"] == f"Raumbuchung: Raum r1, 1 Person, {anna.display_name}"
    payload = outbox._payload(call["summary"], call["start"], call["end"], call["location"], call["description"],
                              call["transparent"], room=call["room"])
    text = ical.event_ics(payload, uid=call["uid"], sequence=0, tz=site_timezone(), own_marker="x")
    event = _strict(text.encode()).walk("VEVENT")[0]
    assert event["ATTENDEE"].params["CUTYPE"] == "ROOM"
    assert str(event["ATTENDEE"]).startswith("mailto:raum-r1@")


def test_itip_mail_asks_for_no_reply(app):
    start = datetime(2030, 3, 5, 8, 0, tzinfo=UTC)  # any moment: the message does not depend on the clock
    data = calendar_services.itip_message(
        method="REQUEST", uid=calendar_services.event_uid("appointment", "a" * 32), sequence=0, summary="Termin",
        start=start, end=start + timedelta(minutes=30), location=None, description=None,
        organizer_email="noreply@musterhausen.example", attendee_email="erika@example.org")
    event = _strict(data).walk("VEVENT")[0]
    attendee = event["ATTENDEE"]
    assert attendee.params["RSVP"] == "FALSE" and attendee.params["PARTSTAT"] == "ACCEPTED"
