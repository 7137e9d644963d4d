"""Busy-time mirror against real Radicale and Xandikos (each test runs on both servers)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from staff_calendar import services
from staff_calendar.calendars import mirror
from staff_calendar.calendars.models import CalendarObject, CalendarSyncState
from tests.fixtures.caldav_servers import link_calendar, put_remote_event

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")
MARCH = datetime(2026, 3, 15, 12, tzinfo=UTC)  # mirror "now" for these tests: before both DST changes


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def long_horizon(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_MIRROR_HORIZON_DAYS", 240)
    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Berlin")


def busy(key: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return services.busy_intervals([key], start, end)[key]


def test_weekly_meeting_with_moved_and_cancelled_occurrence_across_both_dst_changes(
        app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    uid = "weekly-jour-fixe@rathaus.example"
    master = icalendar.Event.new(uid=uid, summary="Jour fixe", start=datetime(2026, 3, 16, 10, tzinfo=BER),
                                 end=datetime(2026, 3, 16, 11, tzinfo=BER))
    master.add("rrule", {"freq": "weekly", "count": 34})  # 2026-03-16 .. 2026-11-02
    master.add("exdate", datetime(2026, 10, 26, 10, tzinfo=BER))  # cancelled: the Monday after the autumn change
    moved = icalendar.Event.new(uid=uid, summary="Jour fixe (verschoben)",
                                start=datetime(2026, 3, 31, 12, tzinfo=BER), end=datetime(2026, 3, 31, 13, tzinfo=BER))
    moved.add("recurrence-id", datetime(2026, 3, 30, 10, tzinfo=BER))  # first Monday after the spring change
    put_remote_event(remote.calendar, master, moved)

    result = mirror.sync_calendar(link.key, now=MARCH)
    assert result.ok, result.error
    assert result.mode == "full"

    spring = busy(link.key, utc(2026, 3, 22), utc(2026, 4, 8))
    assert spring == [
        (utc(2026, 3, 23, 9), utc(2026, 3, 23, 10)),  # CET: 10:00 local = 09:00Z
        (utc(2026, 3, 31, 10), utc(2026, 3, 31, 11)),  # moved occurrence, CEST
        (utc(2026, 4, 6, 8), utc(2026, 4, 6, 9)),  # CEST: 10:00 local = 08:00Z
    ]
    assert busy(link.key, utc(2026, 3, 30), utc(2026, 3, 31)) == []  # the original slot of the moved one
    autumn = busy(link.key, utc(2026, 10, 18), utc(2026, 11, 3))
    assert autumn == [
        (utc(2026, 10, 19, 8), utc(2026, 10, 19, 9)),  # still CEST
        (utc(2026, 11, 2, 9), utc(2026, 11, 2, 10)),  # CET again; 10-26 cancelled
    ]
    assert len(busy(link.key, utc(2026, 3, 1), utc(2026, 12, 1))) == 33


def test_all_day_other_zone_transparent_cancelled_and_floating(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="allday@x.example", summary="Fortbildung", start=date(2026, 4, 15), end=date(2026, 4, 16)))
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="nyc@x.example", summary="Call", start=datetime(2026, 4, 10, 9, tzinfo=NYC),
        end=datetime(2026, 4, 10, 10, tzinfo=NYC)))
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="transparent@x.example", summary="Info", start=datetime(2026, 4, 13, 9, tzinfo=BER),
        end=datetime(2026, 4, 13, 10, tzinfo=BER), transparency="TRANSPARENT"))
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="cancelled@x.example", summary="Abgesagt", start=datetime(2026, 4, 14, 9, tzinfo=BER),
        end=datetime(2026, 4, 14, 10, tzinfo=BER), status="CANCELLED"))
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="floating@x.example", summary="Sprechstunde", start=datetime(2026, 4, 16, 9),
        end=datetime(2026, 4, 16, 11)), timezones=False)

    result = mirror.sync_calendar(link.key, now=MARCH)
    assert result.ok, result.error
    assert busy(link.key, utc(2026, 4, 1), utc(2026, 5, 1)) == [
        (utc(2026, 4, 10, 13), utc(2026, 4, 10, 14)),  # 09:00 EDT
        (utc(2026, 4, 14, 22), utc(2026, 4, 15, 22)),  # all-day: the local day in Europe/Berlin (CEST)
        (utc(2026, 4, 16, 7), utc(2026, 4, 16, 9)),  # floating 09:00-11:00 read in the site zone
    ]


def test_own_events_are_not_mirrored(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    own_uid = services.event_uid("appointment", 4711)
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid=own_uid, summary="Termin", start=datetime(2026, 4, 10, 9, tzinfo=BER),
        end=datetime(2026, 4, 10, 10, tzinfo=BER)))
    marked = icalendar.Event.new(uid="copied@elsewhere.example", summary="Termin (Kopie)",
                                 start=datetime(2026, 4, 11, 9, tzinfo=BER), end=datetime(2026, 4, 11, 10, tzinfo=BER))
    marked.add("X-MUNICIPAL-PORTAL", "termine.musterhausen.example")
    put_remote_event(remote.calendar, marked)
    assert mirror.sync_calendar(link.key, now=MARCH).ok
    assert busy(link.key, utc(2026, 4, 1), utc(2026, 5, 1)) == []
    own = db.session.scalars(select(CalendarObject.own).where(CalendarObject.calendar_key == link.key)).all()
    assert own == [True, True]


def test_remote_edit_and_delete_picked_up_by_incremental_sync(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    for n in range(5):
        put_remote_event(remote.calendar, icalendar.Event.new(
            uid=f"ev{n}@x.example", summary=f"Termin {n}", start=datetime(2026, 4, 1 + n, 9, tzinfo=BER),
            end=datetime(2026, 4, 1 + n, 10, tzinfo=BER)))
    first = mirror.sync_calendar(link.key, now=MARCH)
    assert first.ok and first.mode == "full" and first.changed == 5
    assert len(busy(link.key, utc(2026, 4, 1), utc(2026, 4, 10))) == 5

    edited = remote.calendar.get_event_by_uid("ev1@x.example")
    with edited.edit_icalendar_instance() as instance:
        event = instance.walk("VEVENT")[0]
        del event["DTSTART"], event["DTEND"]
        event.add("dtstart", datetime(2026, 4, 2, 14, tzinfo=BER))
        event.add("dtend", datetime(2026, 4, 2, 15, tzinfo=BER))
    edited.save(precondition="etag")
    remote.calendar.get_event_by_uid("ev3@x.example").delete()

    second = mirror.sync_calendar(link.key, now=MARCH)
    assert second.ok, second.error
    assert second.mode == "incremental" and second.used_token
    assert second.multigets == 1
    assert (second.changed, second.deleted) == (1, 1)
    assert busy(link.key, utc(2026, 4, 1), utc(2026, 4, 10)) == [
        (utc(2026, 4, 1, 7), utc(2026, 4, 1, 8)),
        (utc(2026, 4, 2, 12), utc(2026, 4, 2, 13)),  # moved to 14:00 local
        (utc(2026, 4, 3, 7), utc(2026, 4, 3, 8)),
        (utc(2026, 4, 5, 7), utc(2026, 4, 5, 8)),
    ]

    third = mirror.sync_calendar(link.key, now=MARCH)
    assert third.ok and third.mode == "incremental" and third.multigets == 0


def test_expired_token_triggers_full_resync(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    for n in range(3):
        put_remote_event(remote.calendar, icalendar.Event.new(
            uid=f"tok{n}@x.example", summary="x", start=datetime(2026, 4, 1 + n, 9, tzinfo=BER),
            end=datetime(2026, 4, 1 + n, 10, tzinfo=BER)))
    assert mirror.sync_calendar(link.key, now=MARCH).ok
    state = db.session.get(CalendarSyncState, link.key)
    real = state.sync_token
    bogus = real[:-8] + "00000000" if len(real) > 8 else "http://example.invalid/sync/0"
    state.sync_token = bogus
    db.session.commit()
    remote.calendar.get_event_by_uid("tok0@x.example").delete()
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="tok-new@x.example", summary="x", start=datetime(2026, 4, 8, 9, tzinfo=BER),
        end=datetime(2026, 4, 8, 10, tzinfo=BER)))

    result = mirror.sync_calendar(link.key, now=MARCH)
    assert result.ok, result.error
    assert result.token_expired and result.mode == "full"
    assert (result.changed, result.deleted) == (1, 1)  # unchanged objects are not fetched again
    assert [s.day for s, _ in busy(link.key, utc(2026, 4, 1), utc(2026, 4, 10))] == [2, 3, 8]
    assert db.session.get(CalendarSyncState, link.key).sync_token not in (None, bogus)


def test_etag_fallback_for_servers_without_sync(app, caldav_server, long_horizon):
    link, remote = link_calendar(caldav_server)
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="e1@x.example", summary="x", start=datetime(2026, 4, 1, 9, tzinfo=BER),
        end=datetime(2026, 4, 1, 10, tzinfo=BER)))
    db.session.add(CalendarSyncState(calendar_key=link.key, mode="etag"))
    db.session.commit()
    first = mirror.sync_calendar(link.key, now=MARCH)
    assert first.ok and first.mode == "etag" and first.changed == 1
    remote.calendar.get_event_by_uid("e1@x.example").delete()
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="e2@x.example", summary="x", start=datetime(2026, 4, 2, 9, tzinfo=BER),
        end=datetime(2026, 4, 2, 10, tzinfo=BER)))
    second = mirror.sync_calendar(link.key, now=MARCH)
    assert second.ok and (second.changed, second.deleted, second.multigets) == (1, 1, 1)
    assert busy(link.key, utc(2026, 3, 30), utc(2026, 4, 5)) == [(utc(2026, 4, 2, 7), utc(2026, 4, 2, 8))]


class _BadServer:
    """A local HTTP server answering every request with 401 or with garbage."""

    def __init__(self, mode: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if outer.mode == "401":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="x"')
                    body = b"no"
                elif outer.mode.startswith("html"):  # a proxy's login page
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    body = b"<html><body>Bitte anmelden</body></html>"
                else:
                    self.send_response(207)
                    self.send_header("Content-Type", "application/xml")
                    body = b"<<<this is not xml & never was"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = _answer

            def log_message(self, *args) -> None:
                pass

        self.mode = mode
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alice/cal/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("failure", ["down", "401", "garbage", "html", "html-etag-mode"])
def test_failed_sync_leaves_mirror_untouched(app, caldav_server, long_horizon, failure, monkeypatch):
    assert_failed_sync_keeps_mirror(caldav_server, failure, monkeypatch)


def test_wrong_password_leaves_mirror_untouched(app, radicale_server, long_horizon, monkeypatch):
    """Radicale only: Xandikos without TLS has no authentication (its 401 case is covered above)."""
    assert_failed_sync_keeps_mirror(radicale_server, "wrong-password", monkeypatch)


def assert_failed_sync_keeps_mirror(caldav_server, failure: str, monkeypatch) -> None:
    link, remote = link_calendar(caldav_server)
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="keep@x.example", summary="x", start=datetime(2026, 4, 1, 9, tzinfo=BER),
        end=datetime(2026, 4, 1, 10, tzinfo=BER)))
    assert mirror.sync_calendar(link.key, now=MARCH).ok
    state = db.session.get(CalendarSyncState, link.key)
    before = (busy(link.key, utc(2026, 3, 1), utc(2026, 5, 1)), state.sync_token, state.last_success_at)
    bad = None
    if failure == "html-etag-mode":
        state.mode = "etag"
    if failure == "down":
        link.url = f"http://127.0.0.1:{_closed_port()}/alice/cal/"
    elif failure == "wrong-password":
        monkeypatch.setenv(link.secret_env, "not-the-password")
    else:
        bad = _BadServer(failure)
        link.url = bad.url
    db.session.commit()
    try:
        result = mirror.sync_calendar(link.key, now=MARCH, timeout=3)
    finally:
        if bad:
            bad.close()
    assert not result.ok and result.error
    state = db.session.get(CalendarSyncState, link.key)
    assert (busy(link.key, utc(2026, 3, 1), utc(2026, 5, 1)), state.sync_token, state.last_success_at) == before
    assert state.last_error == result.error
    assert caldav_server.password not in state.last_error and "not-the-password" not in state.last_error
    assert len(before[0]) == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_window_moves_without_network(app, caldav_server, long_horizon, monkeypatch):
    monkeypatch.setitem(app.config, "CALDAV_MIRROR_HORIZON_DAYS", 30)
    link, remote = link_calendar(caldav_server)
    weekly = icalendar.Event.new(uid="w@x.example", summary="x", start=datetime(2026, 3, 16, 10, tzinfo=BER),
                                 end=datetime(2026, 3, 16, 11, tzinfo=BER))
    weekly.add("rrule", {"freq": "weekly"})
    put_remote_event(remote.calendar, weekly)
    assert mirror.sync_calendar(link.key, now=MARCH).ok
    assert busy(link.key, utc(2026, 5, 1), utc(2026, 5, 31)) == []  # beyond the 30-day horizon
    later = mirror.sync_calendar(link.key, now=MARCH + timedelta(days=50))
    assert later.ok and later.multigets == 0
    assert len(busy(link.key, utc(2026, 5, 1), utc(2026, 5, 31))) == 4
