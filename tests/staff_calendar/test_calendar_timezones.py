"""The VTIMEZONE this platform writes reads the same in every common parser: the event as stored
(and re-serialised) by Radicale and Xandikos, the ``.ics`` of mails and the subscription feed,
evaluated with vobject (Radicale's parser) and the strict ``ical`` library at dates before and
after the coming DST changes (computed from the tz database, never a fixed year)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from staff_calendar import services
from staff_calendar.calendars import outbox
from tests.fixtures.caldav_servers import link_calendar

BER = ZoneInfo("Europe/Berlin")


def coming_dst_changes(zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` changes of the zone's UTC offset after ``after`` (to the hour, UTC)."""
    changes: list[datetime] = []
    moment = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    offset = moment.astimezone(zone).utcoffset()
    while len(changes) < count:
        moment += timedelta(hours=1)
        current = moment.astimezone(zone).utcoffset()
        if current != offset:
            changes.append(moment)
            offset = current
    return changes


def probes(zone: ZoneInfo, after: datetime) -> list[tuple[datetime, timedelta]]:
    """(local wall-clock time, expected UTC offset) a day before and a day after each of the next
    four DST changes (the next two and the two after them)."""
    result = []
    for change in coming_dst_changes(zone, after, 4):
        for moment in (change - timedelta(days=1), change + timedelta(days=1)):
            local = moment.astimezone(zone)
            result.append((local.replace(tzinfo=None), local.utcoffset()))
    return result


def assert_vtimezone_reads_right(text: str, zone: ZoneInfo, after: datetime, last_year: int = 9999) -> None:
    by_vobject = vobject.readOne(text).vtimezone.gettzinfo()
    calendar = IcsCalendarStream.calendar_from_ics(text)
    [timezone] = [tz for tz in calendar.timezones if tz.tz_id == zone.key]
    by_ical = IcsTimezoneInfo.from_timezone(timezone)
    checked = [(local, expected) for local, expected in probes(zone, after) if local.year <= last_year]
    assert checked
    for local, expected in checked:
        assert by_vobject.utcoffset(local) == expected, ("vobject", local)
        assert by_ical.utcoffset(local) == expected, ("ical", local)


@pytest.mark.caldav
def test_stored_event_has_a_vtimezone_every_parser_reads_alike(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    now = datetime.now(UTC)
    start = (now + timedelta(days=2)).astimezone(BER).replace(hour=10, minute=0, second=0, microsecond=0)
    uid = services.event_uid("appointment", 9001)
    services.schedule_event(calendar_key=link.key, uid=uid, summary="Termin", start=start,
                            end=start + timedelta(minutes=30))
    assert outbox.drain().delivered == 1

    stored = remote.calendar.get_event_by_uid(uid).data  # as the server keeps and serves it
    assert_vtimezone_reads_right(stored, BER, now)
    event = vobject.readOne(stored).vevent
    assert event.dtstart.value == start
    [ical_event] = IcsCalendarStream.calendar_from_ics(stored).events
    assert ical_event.dtstart == start


def test_mail_attachment_and_feed_carry_the_same_vtimezone(app):
    now = datetime.now(UTC)
    start = (now + timedelta(days=30)).astimezone(BER).replace(hour=9, minute=0, second=0, microsecond=0)
    mail = services.itip_message(method="REQUEST", uid="appointment-1@x.example", sequence=0, summary="Termin",
                                 start=start, end=start + timedelta(minutes=30), location=None, description=None,
                                 organizer_email="termine@x.example", attendee_email="erika@example.org")
    feed = services.personal_feed([{"uid": "room-1@x.example", "summary": "Besprechung", "start": start,
                                    "end": start + timedelta(hours=1), "location": None, "description": None,
                                    "transparent": False, "sequence": 0}], name="Feed")
    for text in (mail.decode(), feed.decode()):
        assert "RRULE:FREQ=YEARLY" in text
        assert_vtimezone_reads_right(text, BER, now)


@pytest.mark.parametrize("key", ["America/New_York", "Australia/Sydney", "Asia/Tokyo", "Africa/Casablanca"])
def test_other_site_zones(app, monkeypatch, key):
    """Southern hemisphere, no DST, and a zone without a yearly rule (one RDATE per line)."""
    monkeypatch.setitem(app.config, "TIMEZONE", key)
    zone = ZoneInfo(key)
    now = datetime.now(UTC)
    start = now + timedelta(days=3)
    feed = services.personal_feed([{"uid": "room-2@x.example", "summary": "B", "start": start,
                                    "end": start + timedelta(hours=1), "location": None, "description": None,
                                    "transparent": False, "sequence": 0}], name="Feed").decode()
    if key == "Asia/Tokyo":
        local = now.astimezone(zone).replace(tzinfo=None)
        assert vobject.readOne(feed).vtimezone.gettzinfo().utcoffset(local) == timedelta(hours=9)
        return
    if key == "Africa/Casablanca":  # no yearly rule: one RDATE per line, exact for the event's year ± 1
        assert "RRULE" not in feed and "RDATE:" in feed
        assert_vtimezone_reads_right(feed, zone, now, last_year=start.year + 1)
        return
    assert "RRULE:FREQ=YEARLY" in feed
    assert_vtimezone_reads_right(feed, zone, now)
