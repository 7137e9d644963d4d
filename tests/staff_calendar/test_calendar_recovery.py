"""Recovery after a CalDAV outage: when the server is back (a probe, a sync or a delivery succeeds),
every row that waits because the server was unreachable is retried at once, whatever its backoff."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import registered_jobs
from citizen_portal.core.models import WorkerHeartbeat
from staff_calendar.calendars import mirror, outbox, recovery
from staff_calendar.calendars.models import OutboxEntry
from tests.factories import build_app
from tests.fixtures.caldav_servers import link_calendar
from tests.staff_calendar.test_calendar_outbox import remote_events, schedule

pytestmark = pytest.mark.caldav

ROOT = Path(__file__).resolve().parents[2]
CAPPED_ATTEMPTS = 8  # 30 s · 2^7 > the one-hour cap


def start_of_next_week() -> datetime:
    return datetime.now(UTC) + timedelta(days=7)


def as_after_a_long_outage(keys: list[str]) -> None:
    """The state a row reaches after more than an hour of failed attempts: backoff at its cap."""
    for row in db.session.scalars(select(OutboxEntry).where(OutboxEntry.calendar_key.in_(keys))):
        assert row.state == "pending" and row.last_error.startswith(recovery.UNREACHABLE), row.last_error
        row.attempts = CAPPED_ATTEMPTS
        row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=outbox.backoff_seconds(CAPPED_ATTEMPTS))
    assert outbox.backoff_seconds(CAPPED_ATTEMPTS) == outbox.BACKOFF_CAP_SECONDS
    db.session.commit()


def wait_for(predicate, timeout: float, interval: float = 0.25) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(interval)
    return time.monotonic() - started


def test_events_booked_during_a_long_outage_land_within_60_s_of_the_servers_return(
        radicale_server, fresh_database_url, tmp_path):
    """The real worker (``flask worker``, default intervals) against a real Radicale
    that is stopped, then restarted: the rows' backoff stands at its one-hour cap."""
    instance = tmp_path / "instance"
    app = build_app(fresh_database_url, instance)
    with app.app_context():
        link, remote = link_calendar(radicale_server, "staff:outage")
        key = link.key
        db.session.commit()
        start = start_of_next_week()
        uids = [schedule(key, 700 + n, start=start + timedelta(hours=n)) for n in range(10)]
        db.session.commit()
        with radicale_server.stopped():
            assert outbox.drain(timeout=2).failed == 10
            as_after_a_long_outage([key])
            env = {**os.environ, "PORTAL_DATABASE_URL": fresh_database_url, "PORTAL_INSTANCE_PATH": str(instance),
                   "PORTAL_SECRET_KEY": "recovery-test-secret", "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false"}
            worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "citizen_portal.app:create_app", "worker"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            try:
                # the worker has seen the outage (its first round's sync failed) before the server returns
                wait_for(lambda: db.session.rollback() or db.session.scalar(select(WorkerHeartbeat.name)), 60)
            except BaseException:
                os.killpg(worker.pid, signal.SIGTERM)
                raise
        try:  # the server is back (listening again) from here on
            landed = wait_for(lambda: set(remote_events(remote.calendar)) >= set(uids), 60)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(15)
        assert sorted(remote_events(remote.calendar)) == sorted(uids)  # each exactly once
        print(f"events landed {landed:.1f} s after the server's return")
        db.session.commit()
        assert outbox.pending_count(key) == 0
        db.engine.dispose()


def test_a_successful_sync_retries_the_waiting_rows_of_its_server_at_once(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    other, other_remote = link_calendar(caldav_server)  # another calendar on the same server
    uids = [schedule(link.key, 800), schedule(other.key, 801)]
    db.session.commit()
    with caldav_server.stopped():
        assert outbox.drain(timeout=2).failed == 2
        as_after_a_long_outage([link.key, other.key])
    assert outbox.drain().attempted == 0  # backing off for an hour

    result = mirror.sync_calendar(link.key)
    assert result.ok and result.released == 2
    assert outbox.drain().delivered == 2
    assert uids[0] in remote_events(remote.calendar) and uids[1] in remote_events(other_remote.calendar)


def test_a_successful_delivery_retries_the_servers_other_waiting_rows_in_the_same_drain(app, caldav_server):
    link, remote = link_calendar(caldav_server)
    other, other_remote = link_calendar(caldav_server)
    waiting = [schedule(other.key, 900 + n) for n in range(3)]
    db.session.commit()
    with caldav_server.stopped():
        assert outbox.drain(timeout=2).failed == 3
        as_after_a_long_outage([other.key])
    # a row that failed for another reason than reachability keeps its backoff
    refused = db.session.scalar(select(OutboxEntry).where(OutboxEntry.uid == waiting[2]))
    refused.last_error = "DeliveryError: PUT answered HTTP 403"
    db.session.commit()

    fresh = schedule(link.key, 950)
    db.session.commit()
    result = outbox.drain()
    assert result.delivered == 3 and result.failed == 0
    assert fresh in remote_events(remote.calendar)
    assert set(remote_events(other_remote.calendar)) == set(waiting[:2])
    assert db.session.get(OutboxEntry, refused.id).state == "pending"


def test_the_worker_probes_a_waiting_server_and_drains_at_once(app, caldav_server, monkeypatch):
    from citizen_portal.core import worker

    link, remote = link_calendar(caldav_server)
    uid = schedule(link.key, 990)
    db.session.commit()
    with caldav_server.stopped():
        assert outbox.drain(timeout=2).failed == 1
        as_after_a_long_outage([link.key])
        assert recovery.waiting_servers() == {recovery.server_of(link.url): [link.key]}
        assert not recovery.probe(link.key, timeout=2)
    assert recovery.probe(link.key)
    # a worker round long after its last sync: the probe, not the sync, brings the row in
    monkeypatch.setattr(mirror, "sync_all", lambda: [])
    now = time.monotonic()
    jobs_just_ran = {job.name: now for job in registered_jobs(app)}
    worker.run_round(app, once=False, started=now, last_run=jobs_just_ran, name="test", say=lambda _message: None)
    assert uid in remote_events(remote.calendar)
    assert recovery.waiting_servers() == {}
