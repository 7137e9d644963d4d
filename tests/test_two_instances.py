"""Two instances, one truth (issue 14): two gunicorn instances and two ``flask worker`` processes on one
database and one Redis, a real Radicale and a real SMTP sink.

- 200 concurrent bookings spread over both instances (four per start time, two staff members):
  exactly two win each time, no staff member is booked twice;
- each confirmation mail and each reminder reaches the relay exactly once (the instances cannot reach
  the relay, so both workers compete for the mail outbox);
- each calendar event is on the CalDAV server exactly once (both workers compete for the outbox);
- a rate limit of 3 per minute holds for one client across both instances;
- one ALTCHA solution is accepted once across both instances.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as clock
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import requests
from sqlalchemy import create_engine, select

from citizen_portal.booking.models import CONFIRMED, Appointment
from citizen_portal.core import captcha
from citizen_portal.core.extensions import db
from citizen_portal.core.models import QueuedMail
from tests.citizen_portal.booking.factories import ALL_WEEK, make_appointment, make_setup
from tests.factories import build_app, not_a_holiday, stamp_mirror
from tests.fixtures.caldav_servers import link_calendar
from tests.fixtures.database import free_port
from tests.fixtures.gunicorn import gunicorn_instance
from tests.fixtures.patience import patience

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
START_TIMES = 50
ATTEMPTS_PER_TIME = 4  # two per instance; two staff members: two win
REMINDERS = 6
SECRET = "two-instances-secret"


def seed(database_url: str, instance: Path, radicale) -> tuple[str, str, list[datetime], list, list[str]]:
    """Two staff members with Radicale calendars (mirrored), 50 bookable start times from the day after
    tomorrow on, and appointments due for a reminder (tomorrow, booked long ago)."""
    app = build_app(database_url, instance)
    with app.app_context():
        location, service, staff = make_setup(2, opening_hours=dict(ALL_WEEK), holidays=None)
        remotes = []
        for member in staff:
            link, remote = link_calendar(radicale, f"staff:{member.key}")
            member.calendar_key = link.key
            stamp_mirror(link.key)
            remotes.append(remote)
        db.session.commit()
        today = datetime.now(BERLIN).date()
        starts = []
        day = today + timedelta(days=2)
        while len(starts) < START_TIMES:
            day = not_a_holiday(day, None)
            starts += [datetime.combine(day, time(8), tzinfo=BERLIN) + timedelta(minutes=30 * n) for n in range(8)]
            day += timedelta(days=1)
        long_ago = datetime.now(UTC) - timedelta(days=10)
        soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
        codes = []
        for n in range(REMINDERS):
            appointment = make_appointment(service, location, staff[n % 2], soon + timedelta(minutes=30 * (n // 2)),
                                           code=f"REM{n}-TWOINST", created_at=long_ago, confirmed_at=long_ago,
                                           email=f"reminded{n}@example.org")
            codes.append(appointment.code)
        keys = (service.key, location.key)
        db.engine.dispose()
    return keys[0], keys[1], starts[:START_TIMES], remotes, codes


def solved(url: str, client_address: str) -> str:
    challenge = requests.get(f"{url}/api/v1/captcha/challenge", headers={"X-Forwarded-For": client_address},
                             timeout=30).json()
    return captcha.solve_for_tests(challenge)


def book(url: str, service: str, location: str, start: datetime, n: int, *, altcha: str | None = None,
         client: str | None = None) -> requests.Response:
    client = client or f"198.51.{n // 250}.{n % 250 + 1}"  # one address per citizen
    body = {"service": service, "location": location, "start": start.isoformat(), "name": "Erika Mustermann",
            "email": f"citizen{n}@example.org", "privacy_consent": True,
            "altcha": altcha if altcha is not None else solved(url, client)}
    return requests.post(f"{url}/api/v1/appointments", json=body, headers={"X-Forwarded-For": client}, timeout=60)


def start_worker(database_url: str, instance: Path, env_extra: dict) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_SECRET_KEY": SECRET, "FLASK_APP": "citizen_portal.app:create_app", **env_extra}
    instance.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "flask", "worker", "--interval", "0.2"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err.decode(errors="replace")


def remote_uids(remote) -> Counter:
    uids: Counter = Counter()
    for obj in remote.calendar.get_events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            uids[str(event["UID"])] += 1
    return uids


@pytest.mark.race
@pytest.mark.caldav
def test_two_instances_and_two_workers_one_truth(fresh_database_url, tmp_path, clean_redis, radicale_server,
                                                 smtp_sink):
    began = clock.monotonic()
    service, location, starts, remotes, reminder_codes = seed(fresh_database_url, tmp_path / "seed", radicale_server)
    common = {"SECRET_KEY": SECRET, "REDIS_URL": clean_redis, "PROXY_FIX": "1", "RATELIMIT_ENABLED": "true",
              "BOOKING_RATE_LIMIT": "3 per minute", "BOOKING_SLOTS_RATE_LIMIT": "1000 per minute",
              "CAPTCHA": "on", "CAPTCHA_KEY_PREFIX": "0", "MAIL_FROM": "Termine <termine@musterhausen.example>"}
    unreachable_relay = {"MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": str(free_port())}
    relay = {f"PORTAL_{key}": str(value) for key, value in smtp_sink.config.items()}
    with ExitStack() as stack:
        first = stack.enter_context(gunicorn_instance(fresh_database_url, tmp_path / "a", workers=2,
                                                      **common, **unreachable_relay))
        second = stack.enter_context(gunicorn_instance(fresh_database_url, tmp_path / "b", workers=2,
                                                       **common, **unreachable_relay))
        urls = [first, second]

        # 200 bookings, four per start time, alternating instances, all at once
        attempts = [(urls[n % 2], starts[n // ATTEMPTS_PER_TIME], n) for n in range(START_TIMES * ATTEMPTS_PER_TIME)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda item: book(service=service, location=location, url=item[0],
                                                      start=item[1], n=item[2]), attempts))
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {201: START_TIMES * 2, 409: START_TIMES * 2}, statuses
        assert {answer.json()["error"] for answer in answers if answer.status_code == 409} == {"slot_taken"}
        booked = {answer.json()["code"] for answer in answers if answer.status_code == 201}
        winners = Counter(url for (url, _, _), answer in zip(attempts, answers, strict=True)
                          if answer.status_code == 201)
        assert winners[first] and winners[second]  # both instances booked

        # a rate limit of 3 per minute for one client holds across both instances
        limited = [requests.post(f"{url}/api/v1/appointments", json={}, headers={"X-Forwarded-For": "203.0.113.9"},
                                 timeout=30).status_code for url in (first, second, first, second)]
        assert limited == [400, 400, 400, 429]

        # one ALTCHA solution is accepted once across both instances
        payload = solved(first, "203.0.113.20")
        extra_day = starts[-1] + timedelta(days=7)
        assert book(first, service, location, extra_day, 9001, altcha=payload, client="203.0.113.21").status_code == 201
        replay = book(second, service, location, extra_day + timedelta(hours=1), 9002, altcha=payload,
                      client="203.0.113.22")
        assert replay.status_code == 400 and "altcha" in replay.json()["fields"]
        booked_total = len(booked) + 1

        # the relay is back once the mails' backoff is over (no waiting for it here)
        engine = create_engine(fresh_database_url)
        with engine.begin() as connection:
            connection.execute(QueuedMail.__table__.update().values(next_attempt_at=QueuedMail.created_at))
        engine.dispose()

        # two workers deliver calendar events and mails (and send reminders) from the shared outboxes
        workers = [start_worker(fresh_database_url, tmp_path / f"worker{n}", relay) for n in range(2)]
        expected_mails = booked_total + REMINDERS
        try:
            messages = smtp_sink.wait_for(expected_mails, timeout=90)
            deadline = clock.monotonic() + 60
            while clock.monotonic() < deadline:
                events = sum(sum(remote_uids(remote).values()) for remote in remotes)
                if events >= booked_total:
                    break
                clock.sleep(0.5)
            clock.sleep(1.0)  # a duplicate would arrive now
        finally:
            errors = [stop(worker) for worker in workers]
        messages = list(smtp_sink.messages)

    # the database: no staff member booked twice at one time
    app = build_app(fresh_database_url, tmp_path / "check")
    with app.app_context():
        active = db.session.execute(select(Appointment.staff_id, Appointment.start_at, Appointment.code)
                                    .where(Appointment.status == CONFIRMED)).all()
        db.engine.dispose()
    assert len(active) == booked_total + REMINDERS
    assert len({(staff_id, start) for staff_id, start, _ in active}) == len(active), "a double booking"

    # each mail exactly once
    subjects = Counter(str(message["Subject"]) for message in messages)
    assert all(count == 1 for count in subjects.values()), [s for s, c in subjects.items() if c > 1]
    confirmations = {subject.rsplit(" ", 1)[-1] for subject in subjects if subject.startswith("Terminbestätigung")}
    reminders = {subject.rsplit(" ", 1)[-1] for subject in subjects if subject.startswith("Erinnerung")}
    assert booked <= confirmations and len(confirmations) == booked_total
    assert reminders == set(reminder_codes)
    assert len(messages) == expected_mails, errors

    # each calendar event exactly once (the seeded reminder appointments have none: nobody queued them)
    uids: Counter = Counter()
    for remote in remotes:
        uids.update(remote_uids(remote))
    assert all(count == 1 for count in uids.values())
    assert len(uids) == booked_total, (len(uids), booked_total)
    tracebacks = [error[error.index("Traceback"):] for error in errors if "Traceback" in error]
    assert not tracebacks, tracebacks
    assert clock.monotonic() - began < patience(150)
