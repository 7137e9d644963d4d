"""Live check (is_free), principal discovery, status CLI, worker and health checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.health import registered_health_checks
from citizen_portal.core.models import WorkerHeartbeat
from staff_calendar import services
from staff_calendar.calendars import mirror, outbox
from staff_calendar.calendars.models import CalendarLink, CalendarSyncState
from tests.fixtures.caldav_servers import link_calendar, put_remote_event

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
DAY = datetime.now(UTC).date() + timedelta(days=7)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=BER)


def _remote_meeting(remote, uid: str = "meeting@x.example") -> None:
    put_remote_event(remote.calendar, icalendar.Event.new(uid=uid, summary="Teambesprechung", start=at(10),
                                                          end=at(11)))


def test_is_free_asks_the_server(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    _remote_meeting(remote)  # not yet mirrored: only the server knows
    assert services.is_free(link.key, at(10, 30), at(11)) == services.FreeCheck(free=False, source="server")
    assert services.is_free(link.key, at(11), at(11, 30)) == services.FreeCheck(free=True, source="server")
    # our own event does not make the slot busy (it is counted from the database)
    services.schedule_event(calendar_key=link.key, uid=services.event_uid("appointment", 77), summary="Termin",
                            start=at(14), end=at(14, 30))
    assert outbox.drain().delivered == 1
    assert services.is_free(link.key, at(14), at(14, 30)).free


def test_is_free_expands_a_series_from_the_server(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    series = icalendar.Event.new(uid="series@x.example", summary="Sprechstunde", start=at(8) - timedelta(weeks=5),
                                 end=at(9) - timedelta(weeks=5))
    series.add("rrule", {"freq": "weekly"})
    put_remote_event(remote.calendar, series)
    check = services.is_free(link.key, at(8, 30), at(9, 30))
    assert (check.free, check.source) == (False, "server")
    assert services.is_free(link.key, at(9), at(9, 30)).free


def test_is_free_all_day_is_the_local_day(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    put_remote_event(remote.calendar, icalendar.Event.new(uid="ad@x.example", summary="Urlaub", start=DAY,
                                                          end=DAY + timedelta(days=1)))
    assert not services.is_free(link.key, at(0, 15), at(0, 45)).free  # 00:15 local is still the day
    assert services.is_free(link.key, at(23, 59) + timedelta(minutes=1), at(23, 59) + timedelta(minutes=31)).free


def test_is_free_falls_back_to_the_mirror_when_the_server_is_down(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    _remote_meeting(remote)
    assert mirror.sync_calendar(link.key).ok
    with caldav_server.stopped():
        busy = services.is_free(link.key, at(10), at(10, 30), timeout=1)
        free = services.is_free(link.key, at(12), at(12, 30), timeout=1)
    assert (busy.free, busy.source) == (False, "mirror")
    assert (free.free, free.source) == (True, "mirror")
    assert busy.detail  # names the error class, no URL or secret
    assert caldav_server.password not in busy.detail and "http" not in busy.detail


def test_busy_intervals_one_query_for_many_calendars(app, caldav_server):
    first, remote_first = link_calendar(caldav_server)
    second, _remote_second = link_calendar(caldav_server)
    _remote_meeting(remote_first)
    assert mirror.sync_calendar(first.key).ok and mirror.sync_calendar(second.key).ok
    result = services.busy_intervals([first.key, second.key, "staff:unknown"], at(0), at(23))
    assert result == {first.key: [(at(10).astimezone(UTC), at(11).astimezone(UTC))], second.key: [],
                      "staff:unknown": []}
    assert all(s.tzinfo is not None for s, _ in result[first.key])


def test_base_url_link_is_resolved_by_principal_discovery(app, caldav_server):
    link, _remote = link_calendar(caldav_server, url=caldav_server.base_url)
    # the principal may own calendars from other tests: discovery picks the first event calendar
    result = mirror.sync_calendar(link.key)
    assert result.ok, result.error
    assert db.session.get(CalendarLink, link.id).resolved_url.startswith(caldav_server.principal_url)


def test_status_cli_and_sync_cli(app, caldav_server):
    link, remote = link_calendar(caldav_server, key="staff:status-cli-" + caldav_server.kind)
    _remote_meeting(remote)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["staff-calendar", "sync", "--calendar", link.key])
    assert out.exit_code == 0, out.output
    assert f"{link.key}: ok (full, 1 changed" in out.output
    services.schedule_event(calendar_key=link.key, uid=services.event_uid("appointment", 1234), summary="T",
                            start=at(15), end=at(15, 30))
    out = runner.invoke(args=["staff-calendar", "status"])
    assert out.exit_code == 0, out.output
    line = next(li for li in out.output.splitlines() if li.startswith(link.key))
    assert " sync " in line and line.split()[-2] == "1" and line.endswith(" -")  # 1 pending, no error
    assert "worker heartbeat: never" in out.output
    assert caldav_server.password not in out.output and "http" not in out.output


def test_status_shows_a_failed_sync(app, caldav_server, monkeypatch):
    link, _remote = link_calendar(caldav_server, key="staff:status-fail-" + caldav_server.kind)
    link.url = "http://127.0.0.1:9/nowhere/"
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["staff-calendar", "sync", "--calendar", link.key])
    assert out.exit_code == 1 and "FAILED (ConnectionError" in out.output
    out = app.test_cli_runner().invoke(args=["staff-calendar", "status"])
    line = next(li for li in out.output.splitlines() if li.startswith(link.key))
    assert "never" in line and "ConnectionError" in line
    check = registered_health_checks(app)["caldav"]()
    assert check["ok"] is True and check["degraded"] is True and check["failing"] == 1


def test_worker_once_drains_syncs_and_beats(app, caldav_server, monkeypatch):
    # other calendars linked by other tests in this transaction do not exist: only ours
    link, remote = link_calendar(caldav_server)
    key = link.key  # the worker ends its session after each round: keep plain values
    _remote_meeting(remote)
    uid = services.event_uid("appointment", 999)
    services.schedule_event(calendar_key=key, uid=uid, summary="T", start=at(15), end=at(15, 30))
    ran = []
    from citizen_portal.core.jobs import register_job

    calendar_jobs = {name: job for name, job in app.extensions["periodic_jobs"].items() if name.startswith("calendar-")}
    assert set(calendar_jobs) == {"calendar-outbox", "calendar-sync", "calendar-outbox-purge"}
    monkeypatch.setitem(app.extensions, "periodic_jobs", calendar_jobs)
    register_job(app, "test-job", lambda: ran.append(1), 3600)
    out = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert out.exit_code == 0, out.output
    assert "calendar-outbox: 1 delivered, 0 failed" in out.output
    assert "calendar-sync: 1 ok, 0 failed" in out.output
    alias = app.test_cli_runner().invoke(args=["staff-calendar", "worker", "--once"])  # older deployments
    assert alias.exit_code == 0 and "calendar-sync: 1 ok, 0 failed" in alias.output, alias.output
    assert ran == [1, 1]
    assert db.session.get(CalendarSyncState, key).last_success_at is not None
    assert db.session.scalar(select(WorkerHeartbeat)) is not None
    checks = registered_health_checks(app)
    assert checks["worker"]()["ok"] and checks["worker"]()["heartbeat_age_seconds"] < 60
    assert checks["outbox"]() == {"ok": True, "degraded": False, "pending": 0, "failing": 0,
                                  "oldest_pending_age_seconds": None}
    assert checks["caldav"]() == {"ok": True, "degraded": False, "calendars": 1, "failing": 0, "warnings": 0,
                                  "warning_kinds": {}}


def test_itip_and_feed(app):
    start = datetime(2026, 7, 1, 8, tzinfo=UTC)
    uid = services.event_uid("appointment", 5)
    request = icalendar.Calendar.from_ical(services.itip_message(
        method="REQUEST", uid=uid, sequence=0, summary="Personalausweis", start=start,
        end=start + timedelta(minutes=30), location="Rathaus", description="Code A7K2",
        organizer_email="termine@stadt.example", attendee_email="b@example.org", attendee_name="B. Bürger"))
    assert str(request["METHOD"]) == "REQUEST"
    event = request.events[0]
    assert event.start == start and event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(event["ORGANIZER"]) == "mailto:termine@stadt.example"
    assert str(event["ATTENDEE"]) == "mailto:b@example.org" and event["ATTENDEE"].params["CN"] == "B. Bürger"
    assert "SCHEDULE-AGENT" not in event["ATTENDEE"].params
    assert request.walk("VTIMEZONE") and "DTSTAMP" in event
    cancel = icalendar.Calendar.from_ical(services.itip_message(
        method="CANCEL", uid=uid, sequence=1, summary="Personalausweis", start=start,
        end=start + timedelta(minutes=30), location=None, description=None,
        organizer_email="termine@stadt.example", attendee_email="b@example.org"))
    assert str(cancel["METHOD"]) == "CANCEL"
    assert str(cancel.events[0]["STATUS"]) == "CANCELLED" and int(cancel.events[0]["SEQUENCE"]) == 1

    feed = icalendar.Calendar.from_ical(services.personal_feed([
        {"uid": "desk-1@x", "summary": "Schreibtisch 4", "start": start, "end": start + timedelta(hours=8),
         "location": "2. OG", "description": None, "transparent": True, "sequence": 2},
    ], name="Feed"))
    assert "METHOD" not in feed
    assert str(feed.events[0]["TRANSP"]) == "TRANSPARENT" and int(feed.events[0]["SEQUENCE"]) == 2
    assert services.personal_feed([], name="Feed").startswith(b"BEGIN:VCALENDAR")


def test_event_uid(app):
    assert services.event_uid("appointment", 42) == "appointment-42@termine.musterhausen.example"
    with pytest.raises(ValueError):
        services.event_uid("a@b", 1)
    assert date  # keep import for readability of DAY


def test_secret_from_instance_file_and_never_in_logs(app, caldav_server, tmp_path, caplog):
    import logging
    from pathlib import Path

    link, remote = link_calendar(caldav_server)
    _remote_meeting(remote)
    secret_path = Path(app.instance_path) / "secrets" / f"caldav-{caldav_server.kind}"
    secret_path.parent.mkdir(parents=True, exist_ok=True)
    secret_path.write_text(caldav_server.password + "\n")
    link.secret_env, link.secret_file = None, f"secrets/caldav-{caldav_server.kind}"
    db.session.commit()
    caplog.set_level(logging.DEBUG)
    assert mirror.sync_calendar(link.key).ok
    link.secret_file = "../../etc/passwd"
    db.session.commit()
    result = mirror.sync_calendar(link.key)
    assert not result.ok and "inside instance" in result.error
    secret_path.write_text("wrong-" + caldav_server.password)
    link.secret_file = f"secrets/caldav-{caldav_server.kind}"
    db.session.commit()
    mirror.sync_calendar(link.key)
    services.is_free(link.key, at(10), at(11))
    assert caldav_server.password not in caplog.text


def test_sigterm_lets_the_running_job_finish_and_stops_the_worker(app, monkeypatch):
    import os
    import signal

    from citizen_portal.core import worker
    from citizen_portal.core.jobs import register_job

    events: list[str] = []

    def delivering() -> None:
        events.append("started")
        os.kill(os.getpid(), signal.SIGTERM)  # the service manager stops the worker mid-delivery
        events.append("finished")

    monkeypatch.setitem(app.extensions, "periodic_jobs", {})
    register_job(app, "a-delivery", delivering, 0, order=1)
    register_job(app, "b-next", lambda: events.append("next job"), 0, order=2)
    before = signal.getsignal(signal.SIGTERM)
    worker.run(app, loop_seconds=0.01)  # returns instead of looping for ever
    assert events == ["started", "finished"]
    assert signal.getsignal(signal.SIGTERM) is before
