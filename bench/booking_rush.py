"""The 8 a.m. rush: 200 clients race for 50 bookable slots (10 times × 5 staff members) through
gunicorn (4 workers) on PostgreSQL, with live calendar checks against a real Radicale.

    .venv/bin/python -m bench.booking_rush [--database-url URL] [--clients 200] [--workers 4]
    .venv/bin/python -m bench.booking_rush --scenario hoarding [--clients 50]

Each client books a random time; on 409 it retries with the first alternative (up to 6 tries).
Reported: bookings/s, double bookings (overlapping appointments of one staff member; must be 0),
lost bookings (a 201 without a row, or a row without a 201; must be 0), and after draining the
outbox every booking exactly once in the staff calendars on Radicale.

``--scenario hoarding`` (issue 18.2): the captcha is on. First a hoarder from one address loads the
HTML form of every one of the 50 slots without JavaScript, each in a fresh cookie session, keeps the
waiting tokens, waits once (``CAPTCHA_WAIT_SECONDS`` is 1 s here) and submits them all with made-up
addresses: each accepted submission is a hold. Then ``--clients`` citizens book through the API with
the proof of work (cheap ``CAPTCHA_KEY_PREFIX`` "00"), retrying on 409 as above. Reported: slots held
by the hoarder, citizens who got a time, slots left. Rate limits are off, to measure the hold rules
alone.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import threading
import time as clock
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from bench.common import Gunicorn
from bench.slots import make_database

STAFF = 5
TIMES = 10
SECRET_ENV = "BENCH_CALDAV_SECRET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scenario", choices=("rush", "hoarding"), default="rush")
    args = parser.parse_args()

    from tests.fixtures.caldav_servers import RadicaleTestServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-rush-"))
    database_url, cleanup = make_database(args.database_url, workdir)
    (workdir / "radicale").mkdir()
    radicale = RadicaleTestServer(workdir / "radicale")
    radicale.start()
    os.environ[SECRET_ENV] = radicale.password
    try:
        (hoarding if args.scenario == "hoarding" else run)(args, database_url, workdir, radicale)
    finally:
        radicale.stop()
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def seed(database_url: str, radicale) -> tuple[list[str], dict[str, str]]:
    from flask_migrate import upgrade

    from citizen_portal.app import create_app
    from citizen_portal.booking.models import Location, Service, StaffMember
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import SiteSettings
    from staff_calendar.calendars.models import CalendarLink

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True})
    calendars = {}
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.session.add(SiteSettings(name="Bench", timezone="Europe/Berlin", holidays=None, settings={}))
        hours = {day: ["08:00-13:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        location = Location(key="rathaus", name={"de": "Rathaus"}, address="Marktplatz 1", opening_hours=hours,
                            closures=[])
        service = Service(key="anmeldung", name={"de": "Anmeldung", "en": "Registration"}, duration_minutes=30,
                          buffer_minutes=0, min_lead_hours=0, horizon_days=30, max_active_per_email=1)
        service.locations = [location]
        db.session.add_all([location, service])
        for index in range(STAFF):
            remote = radicale.new_calendar(f"staff{index}")
            key = f"staff:staff{index}"
            db.session.add(CalendarLink(key=key, owner_kind="staff", owner_key=f"staff{index}", url=remote.url,
                                        username=radicale.username, secret_env=SECRET_ENV, active=True))
            db.session.flush()
            member = StaffMember(key=f"staff{index}", name=f"Staff {index}", calendar_key=key)
            member.locations, member.services = [location], [service]
            db.session.add(member)
            calendars[key] = remote.url
        db.session.commit()
        from staff_calendar.calendars import mirror

        assert all(result.ok for result in mirror.sync_all())  # the engine offers only mirrored calendars
        db.engine.dispose()
    day = date.today() + timedelta(days=2)
    zone = ZoneInfo("Europe/Berlin")
    starts = [datetime.combine(day, time(8), tzinfo=zone) + timedelta(minutes=30 * i) for i in range(TIMES)]
    return [start.isoformat() for start in starts], calendars


def run(args, database_url: str, workdir: Path, radicale) -> None:
    starts, calendars = seed(database_url, radicale)
    env = {
        "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
        "PORTAL_CAPTCHA": "off", "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_REQUEST_LOG": "false",
        "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false", SECRET_ENV: radicale.password,
    }
    answers: list[dict] = []
    lock = threading.Lock()
    with Gunicorn("citizen_portal.app:create_app()", env, args.workers) as portal:
        portal.wait("/api/v1/services")
        barrier = threading.Barrier(args.clients)

        def client(index: int) -> None:
            rng = random.Random(index)
            session = requests.Session()
            start = rng.choice(starts)
            barrier.wait()
            for _ in range(6):
                response = session.post(f"{portal.url}/api/v1/appointments", timeout=120, json={
                    "service": "anmeldung", "location": "rathaus", "start": start, "name": f"Client {index}",
                    "email": f"client{index}@example.org", "privacy_consent": True})
                body = response.json()
                with lock:
                    answers.append({**body, "http": response.status_code})
                choices = [alt["start"] for alt in body.get("alternatives", []) if alt["start"] in starts]
                if response.status_code != 409 or not choices:
                    return
                start = choices[0]  # the rush is for these 50 slots only

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        began = clock.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = clock.monotonic() - began

    statuses = Counter(answer["http"] for answer in answers)
    booked = [answer for answer in answers if answer["http"] == 201]
    print(f"booking rush: {args.clients} clients, {STAFF * TIMES} slots, {args.workers} gunicorn workers, PostgreSQL")
    print(f"  requests: {len(answers)}  statuses: {dict(statuses)}  wall time {elapsed:.1f} s")
    rates = f"bookings/s: {len(booked) / elapsed:.1f}  requests/s: {len(answers) / elapsed:.1f}"
    print(f"  bookings: {len(booked)}  {rates}")
    verify(database_url, booked, calendars, radicale)


def hoarding(args, database_url: str, workdir: Path, radicale) -> None:
    import re
    from html import unescape
    from urllib.parse import quote

    from citizen_portal.app import create_app
    from citizen_portal.core import captcha

    starts, _calendars = seed(database_url, radicale)
    env = {
        "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
        "PORTAL_CAPTCHA": "on", "PORTAL_CAPTCHA_KEY_PREFIX": "00", "PORTAL_CAPTCHA_WAIT_SECONDS": "1",
        "PORTAL_SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_REQUEST_LOG": "false",
        "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false", SECRET_ENV: radicale.password,
    }
    solver = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "unused", "TESTING": True})
    with Gunicorn("citizen_portal.app:create_app()", env, args.workers) as portal:
        portal.wait("/api/v1/services")
        harvested = []
        for start in [start for start in starts for _ in range(STAFF)]:  # every slot of every time
            bot = requests.Session()  # a fresh cookie jar per token
            url = f"{portal.url}/termine/anmeldung/rathaus/buchen?start={quote(start)}"
            page = bot.get(url, timeout=60).text
            token = re.search(r'name="altcha_wait" value="([^"]+)"', page).group(1)
            csrf = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)
            harvested.append((bot, url, start, token, csrf))
        clock.sleep(1.2)  # one wait covers every harvested token
        held = 0
        answers: Counter = Counter()
        for index, (bot, url, start, token, csrf) in enumerate(harvested):
            response = bot.post(url, timeout=60, allow_redirects=False, data={
                "name": "Bot", "email": f"bot{index}@example.org", "privacy_consent": "1", "start": start,
                "altcha_wait": unescape(token), "csrf_token": csrf})
            held += response.status_code == 303
            answers[response.status_code] += 1
        print(f"hoarding: hoarder from one address, {len(harvested)} no-JavaScript submissions: {held} slots held "
              f"(answers {dict(answers)})")

        booked = 0
        for index in range(args.clients):
            rng = random.Random(index)
            session = requests.Session()
            start = rng.choice(starts)
            for _ in range(6):
                challenge = session.get(f"{portal.url}/api/v1/captcha/challenge", timeout=60).json()
                with solver.app_context():
                    payload = captcha.solve_for_tests(challenge)
                response = session.post(f"{portal.url}/api/v1/appointments", timeout=120, json={
                    "service": "anmeldung", "location": "rathaus", "start": start, "name": f"Client {index}",
                    "email": f"client{index}@example.org", "privacy_consent": True, "altcha": payload})
                body = response.json()
                if response.status_code == 201:
                    booked += 1
                    break
                choices = [alt["start"] for alt in body.get("alternatives", []) if alt["start"] in starts]
                if response.status_code != 409 or not choices:
                    break
                start = choices[0]
        slots = STAFF * TIMES
        print(f"  citizens: {args.clients} want a time, {booked} got one; slots: {slots}, held by the hoarder "
              f"{held}, free afterwards {slots - held - booked}")


def verify(database_url: str, booked: list[dict], calendars: dict[str, str], radicale) -> None:
    from sqlalchemy import select, text

    from citizen_portal.app import create_app
    from citizen_portal.booking.models import Appointment
    from citizen_portal.core.extensions import db
    from staff_calendar import services as calendar_services
    from staff_calendar.calendars import outbox

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True,
                      "OUTBOX_DRAIN_AFTER_COMMIT": False})
    with app.app_context():
        rows = db.session.scalars(select(Appointment).where(Appointment.status == "confirmed")).all()
        doubles = db.session.execute(text(
            "SELECT count(*) FROM appointments a JOIN appointments b ON a.staff_id = b.staff_id AND a.id < b.id "
            "AND a.start_at < b.blocked_until AND b.start_at < a.blocked_until "
            "WHERE a.status = 'confirmed' AND b.status = 'confirmed'")).scalar()
        answered = {answer["code"] for answer in booked}
        stored = {row.code for row in rows}
        lost = len(answered - stored) + len(stored - answered)
        print(f"  double bookings: {doubles}  lost bookings: {lost}  (rows {len(stored)}, 201 answers {len(answered)})")
        began = clock.monotonic()
        for _ in range(20):
            outbox.drain(ignore_backoff=True)
            if outbox.pending_count() == 0:
                break
        print(f"  outbox drained in {clock.monotonic() - began:.1f} s, pending {outbox.pending_count()}")
        expected = {calendar_services.event_uid("appointment", row.id): row.staff.calendar_key for row in rows}
        seen: Counter = Counter()
        wrong_calendar = 0
        principal = radicale.principal()
        for key, url in calendars.items():
            calendar = principal.calendar(cal_id=url.rstrip("/").rsplit("/", 1)[-1])
            for event in calendar.events():
                uid = str(event.icalendar_component.get("uid"))
                seen[uid] += 1
                wrong_calendar += expected.get(uid) not in (None, key)
        missing = [uid for uid in expected if seen[uid] == 0]
        duplicated = [uid for uid, count in seen.items() if count > 1]
        extra = [uid for uid in seen if uid not in expected]
        print(f"  in staff calendars: {sum(seen.values())} events for {len(expected)} bookings; missing "
              f"{len(missing)}, duplicated {len(duplicated)}, unexpected {len(extra)}, wrong calendar {wrong_calendar}")
        db.engine.dispose()


if __name__ == "__main__":
    main()
