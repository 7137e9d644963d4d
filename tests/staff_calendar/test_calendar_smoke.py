from datetime import UTC, datetime, timedelta

import icalendar

from staff_calendar import services
from staff_calendar.calendars import mirror, outbox
from tests.fixtures.caldav_servers import link_calendar


def test_roundtrip(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    ev = icalendar.Event.new(uid="remote-1@example.org", summary="Meeting", start=start,
                             end=start + timedelta(hours=1))
    cal = icalendar.Calendar(); cal.add("prodid", "-//t//t//"); cal.add("version", "2.0"); cal.add_component(ev)
    remote.calendar.add_event(cal.to_ical().decode(), no_overwrite=True)
    r = mirror.sync_calendar(link.key)
    assert r.ok, r.error
    busy = services.busy_intervals([link.key], start - timedelta(days=1), start + timedelta(days=1))
    assert busy[link.key] == [(start, start + timedelta(hours=1))]
    uid = services.event_uid("appointment", 1)
    services.schedule_event(calendar_key=link.key, uid=uid, summary="Termin", start=start + timedelta(hours=2),
                            end=start + timedelta(hours=3))
    d = outbox.drain()
    assert d.delivered == 1, outbox.OutboxEntry.query.all()[0].last_error
    r = mirror.sync_calendar(link.key)
    assert r.ok and r.mode == "incremental", r
    busy = services.busy_intervals([link.key], start - timedelta(days=1), start + timedelta(days=1))
    assert busy[link.key] == [(start, start + timedelta(hours=1))]
    chk = services.is_free(link.key, start, start + timedelta(minutes=30))
    assert chk == services.FreeCheck(free=False, source="server")
    chk = services.is_free(link.key, start + timedelta(hours=2), start + timedelta(hours=3))
    assert chk.free and chk.source == "server"
