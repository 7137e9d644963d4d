"""One remote event must not stall the portal (issue 18, item 4).

A 220-byte ``RRULE:FREQ=MINUTELY`` (or SECONDLY) event in a linked staff calendar used to be expanded
without limit while the database write lock was held. Now its expansion is capped (occurrences and
time, only within the mirror window) and runs before the write transaction, which only writes
precomputed rows; the event is reported as a sync warning without personal data.

The writer tests use a real Radicale and real commits on the suite's database (SQLite or PostgreSQL):
a second connection keeps writing under the calendar's lock (on SQLite: the database's only write
lock) while the sync runs, and measures how long each of its writes waited.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from citizen_portal.core import locks
from citizen_portal.core.database import Busy, write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.health import registered_health_checks
from citizen_portal.core.models import WorkerHeartbeat
from staff_calendar import services
from staff_calendar.calendars import mirror, reading
from staff_calendar.calendars.models import BusyInterval, CalendarObject
from tests.factories import build_app
from tests.fixtures.caldav_servers import link_calendar, put_remote_event
from tests.fixtures.patience import patience

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
MARCH = datetime(2026, 3, 15, 12, tzinfo=UTC)  # the mirror's "now" in these tests
WINDOW = mirror.Window(datetime(2026, 3, 13, 23, tzinfo=UTC), datetime(2026, 6, 16, 22, tzinfo=UTC))
LIMITS = reading.Limits(occurrences=2000, seconds=60.0)  # the occurrence cap decides, even when busy

# 200-odd bytes, as the security review sent them: no end, a 30 s duration (occurrences never merge)
STORM = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
         "DTSTAMP:20260301T000000Z\r\nDTSTART:{start}\r\nDURATION:PT30S\r\nRRULE:{rule}\r\nSUMMARY:{summary}\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")


def storm(rule: str, *, start: str = "20260314T120000Z", uid: str = "storm@x.example",
          summary: str = "Sturm") -> str:
    return STORM.format(uid=uid, start=start, rule=rule, summary=summary)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read(data: str, window: mirror.Window = WINDOW, limits: reading.Limits = LIMITS) -> reading.ReadObject:
    return reading.read_object(data, window.start, window.end, tz=BER, own_domain="termine.example", limits=limits)


# --- the expansion itself (no server, no database)

@pytest.mark.parametrize("rule", ["FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=SECONDLY;INTERVAL=2"])
def test_a_dense_series_is_cut_at_the_occurrence_cap_and_busy_from_there_to_the_window_end(rule):
    result = read(storm(rule))
    assert len(result.intervals) <= LIMITS.occurrences + 1
    assert result.intervals[0][0] == utc(2026, 3, 14, 12)
    assert result.intervals[-1][1] == WINDOW.end  # the rest of the window counts as busy: never a double booking
    assert result.warning.startswith("capped:") and rule.split(";")[0] in result.warning
    assert "starting 2026-03-14 12:00 UTC, more than 2000 occurrences; busy from 2026-03-1" in result.warning
    assert "Sturm" not in result.warning and "storm@" not in result.warning


@pytest.mark.parametrize("rule, start", [
    ("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", "20260314T120000Z"),  # never matches: dateutil never yields
    ("FREQ=SECONDLY;BYHOUR=3;BYMINUTE=7;BYSECOND=9", "20160101T000000Z"),  # ten years before the window
])
def test_a_rule_that_takes_too_long_is_stopped_by_the_time_cap(rule, start):
    started = time.perf_counter()
    result = read(storm(rule, start=start), limits=reading.Limits(occurrences=2000, seconds=0.5))
    elapsed = time.perf_counter() - started
    assert elapsed < 30, f"{elapsed:.1f} s"  # without the cap it would never end; a busy machine may be slow
    assert result.warning.startswith("timeout:")
    assert result.intervals and result.intervals[-1][1] == WINDOW.end
    assert result.stored  # still kept (minimised): the next window is tried again


def test_ordinary_series_are_expanded_exactly_and_without_warning():
    weekly = icalendar.Event.new(uid="w@x.example", summary="Jour fixe", start=datetime(2020, 1, 6, 10, tzinfo=BER),
                                 end=datetime(2020, 1, 6, 11, tzinfo=BER))
    weekly.add("rrule", {"freq": "weekly", "byday": "MO"})
    daily = icalendar.Event.new(uid="d@x.example", summary="Post", start=datetime(2026, 3, 1, 8, tzinfo=BER),
                                end=datetime(2026, 3, 1, 8, 15, tzinfo=BER))
    daily.add("rrule", {"freq": "daily"})
    for event, count in ((weekly, 14), (daily, 95)):
        calendar = icalendar.Calendar()
        calendar.add("version", "2.0")
        calendar.add("prodid", "-//t//t//EN")
        calendar.add_component(event)
        calendar.add_missing_timezones()
        result = read(calendar.to_ical().decode())
        assert result.warning is None
        assert len(result.intervals) == count
        assert all(WINDOW.start < s and e < WINDOW.end for s, e in result.intervals)


def test_the_limits_come_from_the_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_EXPANSION_MAX_OCCURRENCES", 10)
    monkeypatch.setitem(app.config, "CALDAV_EXPANSION_SECONDS", 0.25)
    assert reading.Limits.from_config() == reading.Limits(occurrences=10, seconds=0.25)
    result = read(storm("FREQ=DAILY"), limits=reading.Limits.from_config())
    assert len(result.intervals) == 11 and result.intervals[-1] == (utc(2026, 3, 24, 12), WINDOW.end)


# --- against Radicale, with real commits and a concurrent writer

def _keep_writing(app, key: str, stop: threading.Event, waits: list[float]) -> None:
    """Write under the calendar's lock every 20 ms; record how long each write took."""
    with app.app_context():
        while not stop.is_set():
            started = time.perf_counter()
            try:
                with write_transaction(locks.calendar_mirror(key)):
                    db.session.merge(WorkerHeartbeat(name="concurrent-writer", beat_at=datetime.now(UTC)))
            except Busy:
                pass  # counted below: a write that waited for the lock timeout waited too long
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
        db.session.remove()


@pytest.mark.parametrize("rule", ["FREQ=MINUTELY", "FREQ=SECONDLY"])
def test_a_storm_event_gives_bounded_rows_a_short_lock_and_a_warning(radicale_server, fresh_database_url,
                                                                      tmp_path, rule):
    app = build_app(fresh_database_url, tmp_path, CALDAV_EXPANSION_SECONDS=5.0)  # the occurrence cap decides
    with app.app_context():
        link, remote = link_calendar(radicale_server)
        key = link.key
        stormy = remote.calendar.add_event(storm(rule), no_overwrite=True)
        put_remote_event(remote.calendar, icalendar.Event.new(
            uid="meeting@x.example", summary="Teambesprechung", start=datetime(2026, 3, 12, 10, tzinfo=BER),
            end=datetime(2026, 3, 12, 11, tzinfo=BER)))
        db.session.commit()
    waits: list[float] = []
    stop = threading.Event()
    writer = threading.Thread(target=_keep_writing, args=(app, key, stop, waits))
    writer.start()
    try:
        while len(waits) < 2 and writer.is_alive():  # the writer is running before the sync starts
            time.sleep(0.01)
        with app.app_context():
            result = mirror.sync_calendar(key, now=MARCH - timedelta(days=3))
    finally:
        stop.set()
        writer.join(60)
    assert result.ok, result.error
    assert len(waits) >= 3 and max(waits) < patience(2.0), f"a concurrent write waited {max(waits):.2f} s"
    assert result.write_seconds < patience(1.0), f"the write transaction took {result.write_seconds:.2f} s"

    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(BusyInterval).where(BusyInterval.calendar_key == key))
        assert rows <= 2000 + 2
        window_end = mirror.mirror_window(MARCH - timedelta(days=3))[1]
        busy = services.busy_intervals([key], utc(2026, 3, 12), window_end)[key]
        assert busy[0] == (utc(2026, 3, 12, 9), utc(2026, 3, 12, 10))  # the ordinary meeting
        assert busy[-1][1] == window_end  # the storm: busy to the end of the window
        warnings = db.session.scalars(select(CalendarObject.warning).where(
            CalendarObject.calendar_key == key, CalendarObject.warning.is_not(None))).all()
        assert len(warnings) == 1 and rule in warnings[0] and "Sturm" not in warnings[0]

        out = app.test_cli_runner().invoke(args=["staff-calendar", "status"])
        assert out.exit_code == 0, out.output
        assert warnings[0] in out.output and "Sturm" not in out.output and "storm@" not in out.output
        check = registered_health_checks(app)["caldav"]()
        assert check["ok"] is True and check["degraded"] is True
        assert check["warnings"] == 1 and check["warning_kinds"] == {"capped": 1}

        # unchanged, the event is not expanded again; removed, its warning goes with it
        again = mirror.sync_calendar(key, now=MARCH - timedelta(days=3))
        assert again.ok and again.changed == 0 and again.write_seconds < patience(1.0)
        stormy.delete()  # by its URL: caldav's get_event_by_uid would expand the series itself, for minutes
        assert mirror.sync_calendar(key, now=MARCH - timedelta(days=3)).ok
        assert registered_health_checks(app)["caldav"]()["warnings"] == 0
        db.engine.dispose()


def test_the_live_check_obeys_the_same_caps(app, radicale_server):
    link, remote = link_calendar(radicale_server)
    now = datetime.now(UTC)
    remote.calendar.add_event(storm("FREQ=SECONDLY", start=(now - timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")),
                              no_overwrite=True)
    started = time.perf_counter()
    check = services.is_free(link.key, now + timedelta(days=2), now + timedelta(days=2, minutes=30), timeout=20)
    # Radicale's own time-range filter takes 1-4 s of this; unbounded, the check took 109 s
    assert time.perf_counter() - started < patience(10)
    assert (check.free, check.source) == (False, "server")
