"""Event writer with an outbox, against real Radicale and Xandikos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from staff_calendar import services
from staff_calendar.calendars import ical, outbox
from staff_calendar.calendars.models import OutboxEntry
from tests.fixtures.caldav_servers import link_calendar

pytestmark = pytest.mark.caldav

BER = ZoneInfo("Europe/Berlin")
BASE = datetime(2026, 5, 4, 8, tzinfo=UTC)


def remote_events(calendar) -> dict[str, icalendar.Event]:
    found: dict[str, list] = {}
    for obj in calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            found.setdefault(str(event["UID"]), []).append(event)
    assert all(len(v) == 1 for v in found.values()), "an event exists more than once"
    return {uid: events[0] for uid, events in found.items()}


def schedule(key: str, n: int, start: datetime = BASE, **extra) -> str:
    uid = services.event_uid("appointment", n)
    services.schedule_event(calendar_key=key, uid=uid, summary=extra.pop("summary", "Personalausweis – A7K2"),
                            start=start, end=start + timedelta(minutes=30), **extra)
    return uid


def row(key: str, uid: str) -> OutboxEntry:
    return db.session.scalar(select(OutboxEntry).where(OutboxEntry.calendar_key == key, OutboxEntry.uid == uid))


def test_create_update_cancel_with_sequence_and_timezone(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    uid = schedule(link.key, 1, location="Bürgeramt Mitte, Schalter 3")
    assert row(link.key, uid).state == "pending"
    assert outbox.drain().delivered == 1
    event = remote_events(remote.calendar)[uid]
    assert str(event["SUMMARY"]) == "Personalausweis – A7K2"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.start == BASE and int(event["SEQUENCE"]) == 0
    assert "X-MUNICIPAL-PORTAL" in event and "ATTENDEE" not in event and "METHOD" not in str(event.to_ical())
    raw = next(iter(remote.calendar.get_events())).data
    assert "BEGIN:VTIMEZONE" in raw and "TZID:Europe/Berlin" in raw

    schedule(link.key, 1, start=BASE + timedelta(hours=2), location="Bürgeramt Mitte, Schalter 3")
    assert row(link.key, uid).sequence == 1
    assert outbox.drain().delivered == 1
    event = remote_events(remote.calendar)[uid]
    assert event.start == BASE + timedelta(hours=2) and int(event["SEQUENCE"]) == 1

    # coalescing: two changes before delivery are one write, one SEQUENCE step
    schedule(link.key, 1, start=BASE + timedelta(hours=3))
    schedule(link.key, 1, start=BASE + timedelta(hours=4))
    assert row(link.key, uid).sequence == 2
    assert outbox.drain().delivered == 1
    assert remote_events(remote.calendar)[uid].start == BASE + timedelta(hours=4)

    services.schedule_event_removal(calendar_key=link.key, uid=uid)
    assert outbox.drain().delivered == 1
    assert remote_events(remote.calendar) == {}
    assert row(link.key, uid).state == "done"
    # removing again (already gone) is fine
    services.schedule_event_removal(calendar_key=link.key, uid=uid)
    assert outbox.drain().delivered == 0  # nothing changed: coalesced into the delivered removal


def test_unchanged_schedule_is_not_a_new_write(app, caldav_server):
    link, _remote = link_calendar(caldav_server)
    uid = schedule(link.key, 2)
    outbox.drain()
    schedule(link.key, 2)
    assert row(link.key, uid).state == "done" and row(link.key, uid).sequence == 0


def test_fifty_pending_writes_survive_a_stopped_server(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    uids = [schedule(link.key, 100 + n, start=BASE + timedelta(hours=n)) for n in range(50)]
    db.session.commit()
    with caldav_server.stopped():
        result = outbox.drain(timeout=2)
        assert (result.delivered, result.failed) == (0, 50)
        rows = db.session.scalars(select(OutboxEntry).where(OutboxEntry.calendar_key == link.key)).all()
        assert len(rows) == 50
        assert all(r.state == "pending" and r.attempts == 1 and r.last_error for r in rows)
        assert all(r.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20) for r in rows)
        assert outbox.drain().attempted == 0  # backing off
        assert outbox.pending_count(link.key) == 50
    result = outbox.drain(ignore_backoff=True)
    assert (result.delivered, result.failed) == (50, 0)
    assert sorted(remote_events(remote.calendar)) == sorted(uids)

    # answers lost after the server stored the events: the retried creates must not duplicate anything
    for uid in uids[:5]:
        entry = row(link.key, uid)
        entry.state, entry.etag, entry.delivered_payload = "pending", None, None
        entry.next_attempt_at = datetime.now(UTC)
    db.session.commit()
    assert outbox.drain().delivered == 5
    assert sorted(remote_events(remote.calendar)) == sorted(uids)


def test_backoff_grows_and_is_capped():
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert outbox.backoff_seconds(50) == outbox.BACKOFF_CAP_SECONDS


def test_concurrent_remote_edit_is_merged_after_412(app, caldav_server, monkeypatch):
    link, remote = link_calendar(caldav_server)
    uid = schedule(link.key, 3, location="Schalter 1")
    assert outbox.drain().delivered == 1

    # a staff member edits the event in their calendar client: other location, a category, a note
    remote_event = remote.calendar.get_event_by_uid(uid)
    with remote_event.edit_icalendar_instance() as instance:
        event = instance.walk("VEVENT")[0]
        event["LOCATION"] = icalendar.vText("Schalter 5 (Umzug)")
        event.add("categories", ["Bürgeramt"])
    remote_event.save(precondition="etag")  # bumps the remote SEQUENCE to 1

    merges = []
    real_merge = ical.merge_event

    def spy(*args, **kwargs):
        merges.append(kwargs["uid"])
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(ical, "merge_event", spy)
    # meanwhile the citizen reschedules: our stored etag is now stale → 412 → merge
    schedule(link.key, 3, start=BASE + timedelta(days=1), location="Schalter 1")
    assert outbox.drain().delivered == 1
    assert merges == [uid]
    event = remote_events(remote.calendar)[uid]
    assert event.start == BASE + timedelta(days=1)  # our change
    assert str(event["LOCATION"]) == "Schalter 5 (Umzug)"  # their change
    assert "Bürgeramt" in event["CATEGORIES"].to_ical().decode()
    assert int(event["SEQUENCE"]) == 2 == row(link.key, uid).sequence
    assert row(link.key, uid).state == "done"

    # the next update uses the new etag directly
    merges.clear()
    schedule(link.key, 3, start=BASE + timedelta(days=2), location="Schalter 1")
    assert outbox.drain().delivered == 1 and merges == []


def test_remote_delete_then_update_recreates(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    uid = schedule(link.key, 4)
    outbox.drain()
    remote.calendar.get_event_by_uid(uid).delete()
    schedule(link.key, 4, start=BASE + timedelta(hours=1))
    assert outbox.drain().delivered == 1
    assert remote_events(remote.calendar)[uid].start == BASE + timedelta(hours=1)


def test_delete_after_remote_edit(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    uid = schedule(link.key, 5)
    outbox.drain()
    remote_event = remote.calendar.get_event_by_uid(uid)
    with remote_event.edit_icalendar_instance() as instance:
        instance.walk("VEVENT")[0]["SUMMARY"] = icalendar.vText("geändert")
    remote_event.save(precondition="etag")
    services.schedule_event_removal(calendar_key=link.key, uid=uid)
    assert outbox.drain().delivered == 1
    assert remote_events(remote.calendar) == {}


def test_schedule_rejects_naive_times(app):
    with pytest.raises(ValueError):
        services.schedule_event(calendar_key="staff:x", uid="a-1@x", summary="s",
                                start=datetime(2026, 5, 4, 8), end=datetime(2026, 5, 4, 9))


def test_request_drain_is_a_noop_when_disabled_and_delivers_when_enabled(app, caldav_server, monkeypatch,
                                                                          fresh_database_url):
    # disabled (the test default): nothing happens, nothing raises
    services.request_drain()
    from citizen_portal.app import create_app
    from staff_calendar.calendars import worker
    from tests.fixtures.database import make_test_config

    other = create_app(dict(make_test_config(fresh_database_url, app.instance_path), OUTBOX_DRAIN_AFTER_COMMIT=True))
    with other.app_context():
        link, remote = link_calendar(caldav_server)
        uid = schedule(link.key, 6)
        db.session.commit()
        services.request_drain()
        services.request_drain()  # a second request while one runs is absorbed
        worker.wait_for_background_drain()
        assert uid in remote_events(remote.calendar)
        assert row(link.key, uid).state == "done"
        db.session.remove()
        db.engine.dispose()


def test_purge_keeps_pending_and_future_rows(app):
    from datetime import timedelta as td

    now = datetime.now(UTC)
    old = now - td(days=40)

    def add(uid: str, state: str, action: str, end: datetime) -> None:
        db.session.add(OutboxEntry(calendar_key="staff:purge", uid=uid, action=action, state=state,
                                   payload={"end": end.isoformat()} if action == "upsert" else {},
                                   updated_at=old, created_at=old))

    add("past@x", "done", "upsert", old)
    add("removed@x", "done", "delete", old)
    add("future@x", "done", "upsert", now + td(days=10))
    add("pending@x", "pending", "upsert", old)
    db.session.commit()
    db.session.execute(OutboxEntry.__table__.update().values(updated_at=old))
    assert outbox.purge_delivered() == 2
    left = db.session.scalars(select(OutboxEntry.uid).where(OutboxEntry.calendar_key == "staff:purge")).all()
    assert sorted(left) == ["future@x", "pending@x"]


def test_a_claimed_row_is_not_sent_twice(app):
    uid = schedule("staff:claims", 7)
    entry = row("staff:claims", uid)
    db.session.commit()
    first = outbox._claim(entry.id)
    assert first is not None and first.uid == uid
    assert outbox._claim(entry.id) is None  # a second drainer skips it while the lease holds


def test_request_drain_never_raises_outside_an_app_context():
    services.request_drain()
