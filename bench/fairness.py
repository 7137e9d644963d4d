"""Fair access, measured (issue 15): 100 slots, 50 bots and 500 human-paced clients against the real
app (gunicorn, PostgreSQL, the real ALTCHA verification, mails through a real SMTP sink), under
three rules: (a) first come, first served; (b) the waiting list; (c) a release window and lottery.

    .venv/bin/python -m bench.fairness [--database-url URL] [--humans 500] [--bots 50] [--scale 0.05]

Bots: parallel threads, no think time, retry at once, solve the proof of work themselves, one real
mailbox each (gmail.com) sent in many spellings (dots, plus tags, case), which the per-address rules
normalise to one. Humans: one request at a time, one address each, think time 2–20 s before each
step, **scaled by ``--scale``** (default 0.05: 0.1–1 s) so a run takes minutes; times to a result are
reported in real seconds of the scaled run. The proof of work is cheaper than in production
(``CAPTCHA_KEY_PREFIX`` "000": ~4,000 tries instead of ~65,000) and rate limits are off, to measure
the rules alone. The release window collects for ``--window`` seconds (15 minutes in production).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import Gunicorn
from bench.fairness_clients import LOCATION, SERVICE, Actor, Mailbox, fcfs, waiting, window
from bench.slots import make_database

STAFF, TIMES = 10, 10  # 100 slots: 10 staff members × 10 half hours on one day
ZONE = ZoneInfo("Europe/Berlin")


def seed(database_url: str, day: date) -> None:
    from flask_migrate import upgrade

    from citizen_portal.app import create_app
    from citizen_portal.booking.models import Location, Service, StaffMember
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import SiteSettings

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.session.add(SiteSettings(name="Bench", timezone="Europe/Berlin", holidays=None,
                                    settings={"booking": {"cancelled_slot_delay_minutes": 0}}))
        hours = {d: ["08:00-13:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        location = Location(key=LOCATION, name={"de": "Ausländerbehörde"}, address="Ring 1", opening_hours=hours,
                            closures=[])
        service = Service(key=SERVICE, name={"de": "Aufenthaltstitel"}, duration_minutes=30, min_lead_hours=0,
                          horizon_days=(day - date.today()).days, max_active_per_email=1, waiting_list="always",
                          offer_group_size=1, offer_hours=2)
        service.locations = [location]
        db.session.add_all([location, service])
        for index in range(STAFF):
            member = StaffMember(key=f"staff{index}", name=f"Staff {index}")
            member.locations, member.services = [location], [service]
            db.session.add(member)
        db.session.commit()
        db.engine.dispose()


def in_app(database_url: str):
    from citizen_portal.app import create_app

    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True, "CAPTCHA": "on",
                       "MAIL_SMTP_HOST": SINK.host, "MAIL_SMTP_PORT": SINK.port, "MAIL_SMTP_STARTTLS": False,
                       "MAIL_SMTP_USERNAME": "", "OUTBOX_DRAIN_AFTER_COMMIT": False})


def run(kind: str, args, database_url: str, workdir: Path) -> dict:
    day = date.today() + timedelta(days=3)
    seed(database_url, day)
    app = in_app(database_url)
    env = {"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
           "PORTAL_CAPTCHA": "on", "PORTAL_CAPTCHA_KEY_PREFIX": "000", "PORTAL_RATELIMIT_ENABLED": "false",
           "PORTAL_REQUEST_LOG": "false", "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false",
           "PORTAL_MAIL_SMTP_HOST": SINK.host, "PORTAL_MAIL_SMTP_PORT": str(SINK.port),
           "PORTAL_MAIL_SMTP_STARTTLS": "false", "PORTAL_MAIL_SMTP_USERNAME": "",
           "PORTAL_SESSION_COOKIE_SECURE": "false"}
    actors = [Actor("bot", i, args.scale) for i in range(args.bots)] + \
             [Actor("human", i, args.scale) for i in range(args.humans)]
    SINK.clear()
    mail = Mailbox(SINK)
    with Gunicorn("citizen_portal.app:create_app()", env, args.workers) as portal:
        portal.wait("/api/v1/services")
        print(f"({kind}) running", file=sys.stderr, flush=True)
        began = clock.monotonic()
        if kind == "a":
            threads = [threading.Thread(target=fcfs, args=(a, portal.url, day, app, began)) for a in actors]
        elif kind == "b":
            placeholders = _book_everything(app, day)
            joined, offered = threading.Barrier(len(actors) + 1), threading.Event()
            threads = [threading.Thread(target=waiting, args=(a, portal.url, mail, app, began, joined, offered))
                       for a in actors]
        else:
            window_id = _open_window(app, day, args.window)
            threads = [threading.Thread(target=window, args=(a, portal.url, mail, app, began)) for a in actors]
        for thread in threads:
            thread.start()
        if kind == "b":
            joined.wait()  # everyone who wanted to has joined: now 100 times are freed one after another
            _cancel_all(app, placeholders)
            offered.set()
        if kind == "c":
            clock.sleep(max(0.0, args.window - (clock.monotonic() - began)) + 0.5)
            _draw(app, window_id)
            drawn = clock.monotonic() - began
        for thread in threads:
            thread.join()
        print(f"({kind}) done in {clock.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    mail.close()
    winners = _booked_mailboxes(app, day)
    for actor in actors:
        if kind == "c":
            actor.result = "booked" if actor.mailbox in winners else None
            actor.seconds = drawn
        elif actor.result == "booked" and actor.mailbox not in winners:
            actor.result = None
    if kind == "b":
        outcomes: dict[str, int] = {}
        for actor in actors:
            outcomes[f"{actor.kind}: {actor.outcome}"] = outcomes.get(f"{actor.kind}: {actor.outcome}", 0) + 1
        print(f"({kind}) outcomes: {outcomes}", file=sys.stderr, flush=True)
    humans = sum(1 for a in actors if a.kind == "human" and a.mailbox in winners)
    bots = sum(1 for a in actors if a.kind == "bot" and a.mailbox in winners)
    times = [a.seconds for a in actors if a.kind == "human" and a.seconds is not None]
    return {"humans": humans, "bots": bots, "median": statistics.median(times) if times else float("nan")}


def _book_everything(app, day: date) -> list[tuple[str, str]]:
    """(b): every time is taken (a placeholder each), so everybody can only join the list."""
    from citizen_portal.booking import services
    from citizen_portal.booking.schemas import Contact

    made = []
    with app.app_context():
        for index in range(STAFF * TIMES):
            start = datetime.combine(day, time(8), tzinfo=ZONE) + timedelta(minutes=30 * (index % TIMES))
            result = services.book(services.BookingRequest(SERVICE, LOCATION, start, Contact(
                name="Platzhalter", email=f"placeholder{index}@example.net", privacy_consent=True)))
            made.append((result.appointment.code, result.manage_token))
    return made


def _cancel_all(app, placeholders) -> None:
    from citizen_portal.booking import services

    with app.app_context():
        for code, token in placeholders:
            services.cancel(code, token)


def _open_window(app, day: date, seconds: float) -> int:
    from citizen_portal.booking.fairness.models import ReleaseWindow
    from citizen_portal.booking.models import Service
    from citizen_portal.core.extensions import db

    with app.app_context():
        service = db.session.query(Service).filter_by(key=SERVICE).one()
        service.release_days_ahead = (day - date.today()).days
        now = datetime.now(UTC)
        row = ReleaseWindow(service_id=service.id, day=day, opens_at=now, closes_at=now + timedelta(seconds=seconds))
        db.session.add(row)
        db.session.commit()
        return row.id


def _draw(app, window_id: int) -> None:
    from citizen_portal.booking.fairness.lottery import draw

    with app.app_context():
        draw(window_id)


def _booked_mailboxes(app, day: date) -> set[str]:
    from sqlalchemy import select

    from citizen_portal.booking.models import CONFIRMED, Appointment
    from citizen_portal.core.addresses import normalised_email
    from citizen_portal.core.extensions import db

    with app.app_context():
        emails = db.session.scalars(select(Appointment.email).where(Appointment.status == CONFIRMED)).all()
        db.engine.dispose()
    names = {normalised_email(email) for email in emails if email}
    gmail = ("@gmail.com", "@googlemail.com")  # one mailbox, two domains
    return {f"{name.split('@')[0]}@gmail.com" if name.endswith(gmail) else name for name in names}


SINK = None


def main() -> None:
    global SINK, STAFF
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--humans", type=int, default=500)
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--only", choices=("a", "b", "c"))
    parser.add_argument("--staff", type=int, default=STAFF, help="staff members (slots = staff × 10)")
    args = parser.parse_args()
    STAFF = args.staff
    from tests.fixtures.mail import SmtpSink

    SINK = SmtpSink()
    SINK.start()
    rows = []
    try:
        for kind in [args.only] if args.only else ["a", "b", "c"]:
            workdir = Path(tempfile.mkdtemp(prefix="bench-fair-"))
            database_url, cleanup = make_database(args.database_url, workdir)
            try:
                rows.append((kind, run(kind, args, database_url, workdir)))
                print(f"({kind}) {rows[-1][1]}", file=sys.stderr, flush=True)
            finally:
                cleanup()
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        SINK.stop()
    names = {"a": "(a) first come, first served", "b": "(b) waiting list", "c": "(c) release window + lottery"}
    share = args.bots / (args.bots + args.humans)
    print(f"fair access: {STAFF * TIMES} slots, {args.bots} bots, {args.humans} humans (think time × {args.scale}); "
          f"bots' share of distinct mailboxes {share:.1%}")
    print("| rule | slots taken | humans' share | bots' slots | humans' median time to a result (s) |")
    print("|---|---|---|---|---|")
    for kind, row in rows:
        taken = row["humans"] + row["bots"]
        share_humans = row["humans"] / max(taken, 1)
        print(f"| {names[kind]} | {taken} | {share_humans:.0%} | {row['bots']} | {row['median']:.1f} |")


if __name__ == "__main__":
    main()
