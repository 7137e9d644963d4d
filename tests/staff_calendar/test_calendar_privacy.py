"""The mirror keeps only what a feature needs (issue 18, item 8, the calendar part).

Busy time for the slots; of events that are not private, what the Graph calendarView shows (summary,
location, categories, times, showAs); of private and confidential events nothing but busy time; of
our own events nothing. Checked by searching every text column of every table for the events' words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask_migrate import upgrade
from sqlalchemy import Text, cast, column, func, inspect, or_, select, table, text

from citizen_portal.core.extensions import db
from staff_calendar import services
from staff_calendar.calendars import minimal, mirror
from staff_calendar.calendars.models import CalendarObject
from tests.factories import build_app
from tests.fixtures.caldav_servers import link_calendar, put_remote_event
from tests.fixtures.database import MIGRATIONS
from tests.test_migrations import empty_database_url  # noqa: F401 - a fixture

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
MARCH = datetime(2026, 3, 15, 12, tzinfo=UTC)  # the mirror's "now": before both DST changes
# words of the events that must not be stored anywhere (each unusual enough to occur nowhere else)
SECRETS = ["Quaddelbeck", "Blutwerte", "Lindenweg", "Gesundheitsakte", "Erinnerungstext", "quaddel@praxis",
           "Zwirbelmann", "Abmahnung", "Protokollnotiz", "kollege-zwackel", "Wuselhuber", "wuselhuber@example"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(day: int, hour: int, month: int = 4) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BER)


@pytest.fixture
def long_horizon(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_MIRROR_HORIZON_DAYS", 120)
    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Berlin")


def texts_containing(words: list[str]) -> dict[str, list[str]]:
    """Every column of every table (cast to text, case-insensitive) that contains one of ``words``."""
    connection = db.session.connection()
    found: dict[str, list[str]] = {}
    inspector = inspect(connection)
    for name in inspector.get_table_names():
        columns = [c["name"] for c in inspector.get_columns(name)]
        rows = table(name, *(column(c) for c in columns))
        for c in columns:
            value = func.lower(cast(rows.c[c], Text))
            hits = db.session.execute(select(rows.c[c]).where(or_(*(value.contains(w.lower()) for w in words)))).all()
            if hits:
                found[f"{name}.{c}"] = [str(h[0])[:80] for h in hits]
    return found


def private_appointment() -> icalendar.Event:
    event = icalendar.Event.new(uid="p1@praxis.example", summary="Arzttermin Dr. Quaddelbeck", start=at(14, 9),
                                end=at(14, 10), location="Praxis, Lindenweg 7")
    event.add("class", "PRIVATE")
    event.add("description", "Blutwerte besprechen, Gesundheitsakte mitbringen")
    event.add("categories", ["Gesundheitsakte"])
    event.add("attendee", "mailto:quaddel@praxis.example", parameters={"CN": "Dr. Quaddelbeck"})
    event.add("comment", "Quaddelbeck ruft vorher an")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "Erinnerungstext: Quaddelbeck")
    alarm.add("trigger", timedelta(minutes=-30))
    event.add_component(alarm)
    return event


def confidential_series() -> icalendar.Event:
    event = icalendar.Event.new(uid="c1@rathaus.example", summary="Personalgespräch Zwirbelmann", start=at(15, 14),
                                end=at(15, 15))
    event.add("class", "CONFIDENTIAL")
    event.add("description", "Abmahnung Zwirbelmann vorbereiten")
    event.add("rrule", {"freq": "weekly", "count": 3})
    return event


def public_meeting() -> icalendar.Event:
    event = icalendar.Event.new(uid="t1@rathaus.example", summary="Teamrunde Bürgeramt", start=at(16, 10),
                                end=at(16, 11), location="Raum 3.12")
    event.add("description", "Protokollnotiz der letzten Runde")
    event.add("categories", ["Team"])
    event.add("attendee", "mailto:kollege-zwackel@rathaus.example")
    event.add("X-MICROSOFT-CDO-BUSYSTATUS", "OOF")
    return event


def test_private_events_leave_only_their_busy_time_in_the_database(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    put_remote_event(remote.calendar, private_appointment())
    put_remote_event(remote.calendar, confidential_series())
    put_remote_event(remote.calendar, public_meeting())
    own = icalendar.Event.new(uid=services.event_uid("appointment", 31), summary="Termin Frau Wuselhuber",
                              start=at(17, 9), end=at(17, 9) + timedelta(minutes=30))
    own.add("description", "wuselhuber@example.org, Tel. 0711 555")
    put_remote_event(remote.calendar, own)

    result = mirror.sync_calendar(link.key, now=MARCH)
    assert result.ok, result.error
    assert texts_containing(SECRETS) == {}
    expected = [(at(14, 9), at(14, 10)), (at(15, 14), at(15, 15)), (at(16, 10), at(16, 11)),
                (at(22, 14), at(22, 15)), (at(29, 14), at(29, 15))]
    assert services.busy_intervals([link.key], utc(2026, 4, 1), utc(2026, 5, 1))[link.key] == [
        (s.astimezone(UTC), e.astimezone(UTC)) for s, e in expected]

    kept = {uid: data for uid, data in db.session.execute(
        select(CalendarObject.uid, CalendarObject.data).where(CalendarObject.calendar_key == link.key))}
    assert kept[services.event_uid("appointment", 31)] is None
    public = icalendar.Calendar.from_ical(kept["t1@rathaus.example"]).events[0]
    assert (str(public["SUMMARY"]), str(public["LOCATION"]), str(public["X-MICROSOFT-CDO-BUSYSTATUS"])) == (
        "Teamrunde Bürgeramt", "Raum 3.12", "OOF")
    private = icalendar.Calendar.from_ical(kept["p1@praxis.example"]).events[0]
    assert sorted(private) == ["CLASS", "DTEND", "DTSTART", "UID"]  # busy time without subject

    # the window moves: busy time is read again from what was kept, still nothing else
    later = mirror.sync_calendar(link.key, now=MARCH + timedelta(days=14))
    assert later.ok and later.multigets == 0
    assert services.busy_intervals([link.key], utc(2026, 4, 1), utc(2026, 5, 1))[link.key][-1] == (
        at(29, 14).astimezone(UTC), at(29, 15).astimezone(UTC))
    assert texts_containing(SECRETS) == {}


def test_what_is_kept_of_an_object():
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//x//y//EN")
    calendar.add("version", "2.0")
    calendar.add("X-WR-CALNAME", "Kalender von Quaddelbeck")
    calendar.add("X-WR-TIMEZONE", "Europe/Berlin")
    calendar.add_component(private_appointment())
    todo = icalendar.Todo.new(summary="Quaddelbeck anrufen")
    calendar.add_component(todo)
    calendar.add_missing_timezones()
    kept = minimal.keep(calendar)
    assert sorted(c.name for c in kept.subcomponents) == ["VEVENT", "VTIMEZONE"]
    assert str(kept["X-WR-TIMEZONE"]) == "Europe/Berlin" and "X-WR-CALNAME" not in kept
    assert "Quaddelbeck" not in kept.to_ical().decode()
    # an unknown class counts as private (RFC 5545); one private event makes the whole object private
    for value in ("X-SECRET", "confidential", "PRIVATE"):
        event = public_meeting()
        event.add("class", value)
        calendar = icalendar.Calendar()
        calendar.add_component(event)
        assert "SUMMARY" not in minimal.keep(calendar).events[0]
    series, moved = public_meeting(), public_meeting()
    series.add("rrule", {"freq": "weekly", "count": 3})
    moved.add("recurrence-id", at(23, 10))
    moved.add("class", "PRIVATE")
    calendar = icalendar.Calendar()
    calendar.add_component(series)
    calendar.add_component(moved)
    assert all("SUMMARY" not in e and "RRULE" in series for e in minimal.keep(calendar).events)


def test_upgrading_deletes_the_whole_objects_stored_before(empty_database_url, tmp_path):  # noqa: F811
    """``0102_calendar_minimal_mirror``: stored objects go (the next sync fetches and minimises them),
    the token and window start are reset, busy time and window end stay (slots keep being offered)."""
    app = build_app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0101_calendar_mirror")
        db.session.execute(text(
            "INSERT INTO calendar_links (key, owner_kind, owner_key, url, active, created_at) "
            "VALUES ('staff:x', 'staff', 'x', 'http://127.0.0.1:9/x/', true, '2026-03-01 00:00:00')"))
        db.session.execute(text(
            "INSERT INTO calendar_sync_states (calendar_key, mode, sync_token, window_start, window_end, "
            "last_success_at) VALUES ('staff:x', 'sync', 'tok-1', '2026-03-14 23:00:00', '2026-06-16 22:00:00', "
            "'2026-03-15 12:00:00')"))
        db.session.execute(text(
            "INSERT INTO calendar_objects (calendar_key, href, etag, uid, own, data) VALUES "
            "('staff:x', '/x/p1.ics', '\"e1\"', 'p1@praxis.example', false, "
            "'BEGIN:VCALENDAR\nSUMMARY:Arzttermin Dr. Quaddelbeck\nEND:VCALENDAR')"))
        db.session.execute(text(
            "INSERT INTO calendar_busy_intervals (calendar_key, href, start, \"end\") "
            "VALUES ('staff:x', '/x/p1.ics', '2026-04-14 07:00:00', '2026-04-14 08:00:00')"))
        db.session.commit()
        upgrade(directory=MIGRATIONS, revision="heads")
        assert texts_containing(["Quaddelbeck"]) == {}
        state = db.session.execute(text("SELECT sync_token, window_start, window_end FROM calendar_sync_states"))
        token, window_start, window_end = state.one()
        assert (token, window_start) == (None, None) and window_end is not None
        assert db.session.scalar(text("SELECT count(*) FROM calendar_busy_intervals")) == 1
        db.session.commit()
        db.engine.dispose()
