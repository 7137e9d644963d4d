"""Benchmark of desk availability: ``GET /api/v1/desks?date=…&floor=…`` for a floor of 200 desks
and 500 staff with two weeks of bookings (about 70 % occupied), the dates of the 2 weeks in
rotation, under concurrent clients with bearer tokens, against the bare Flask JSON endpoint
(``bench.common:baseline_app()``) served by the same gunicorn settings in the same run.

    .venv/bin/python -m bench.desks [--database-url URL] [--clients 16] [--seconds 15] [--workers 4]

Without ``--database-url`` a throwaway PostgreSQL cluster is made (Debian ``initdb``); a
``sqlite:///…`` URL works too. Target (issue 5): ratio desks/baseline >= 0.5.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

from bench.common import Gunicorn, load, merge, throwaway_database

DESKS = 200
STAFF = 500
OCCUPANCY = 0.7
TOKEN = "cpt_bench-token"  # API tokens start with citizen_portal.core.api_tokens.TOKEN_PREFIX


def working_days(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def seed(database_url: str, days: list[date]) -> None:
    """Migrate; one floor with 200 desks, 500 staff (one API token), bookings on the given days."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from citizen_portal.app import create_app
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import ApiToken, SiteSettings, User
    from staff_calendar.spaces.models import Desk, DeskBooking, Floor

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.session.add(SiteSettings(name="Bench", timezone="Europe/Berlin", holidays="BW",
                                    settings={"spaces": {"horizon_days": 30}}))
        floor = Floor(key="rathaus-3og", name={"de": "Rathaus, 3. OG", "en": "Town hall, 3rd floor"})
        db.session.add(floor)
        db.session.flush()
        rng = random.Random(5)
        attributes = (["monitor"], ["monitor", "standing"], [], ["accessible", "monitor"])
        db.session.execute(insert(Desk), [
            {"key": f"3og-{n:03d}", "floor_id": floor.id, "label": f"Platz {n}", "attributes": attributes[n % 4],
             "x": float(n % 20 * 5), "y": float(n // 20 * 10), "active": True} for n in range(DESKS)])
        db.session.execute(insert(User), [
            {"username": f"staff{n}", "display_name": f"Staff {n}", "roles": "staff", "active": True,
             "team": f"team{n % 25}", "show_presence": n % 2 == 0} for n in range(STAFF)])
        user_ids = list(db.session.scalars(db.select(User.id).order_by(User.id)))
        desk_ids = list(db.session.scalars(db.select(Desk.id).order_by(Desk.id)))
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        db.session.add(ApiToken(user_id=user_ids[0], name="bench", token_hash=digest,
                                expires_at=datetime.now(UTC) + timedelta(days=30)))
        rows = []
        for day in days:
            for half in ("morning", "afternoon"):
                people = rng.sample(user_ids, int(DESKS * OCCUPANCY))
                places = rng.sample(desk_ids, len(people))
                rows += [{"desk_id": d, "user_id": u, "day": day, "half": half, "group_uid": uuid.uuid4().hex}
                         for d, u in zip(places, people, strict=True)]
        db.session.execute(insert(DeskBooking), rows)
        db.session.commit()
        print(f"  seeded {DESKS} desks, {STAFF} staff, {len(rows)} half-day bookings on {len(days)} days")
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-desks-"))
    database_url, cleanup = throwaway_database(args.database_url)
    try:
        days = working_days(date.today() + timedelta(days=1), 10)
        print(f"desks bench: {DESKS} desks, {STAFF} staff, 2 weeks, {args.clients} clients, "
              f"{args.workers} gunicorn workers, {args.seconds:.0f} s each")
        seed(database_url, days)
        env = {
            "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
            "PORTAL_CAPTCHA": "off", "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_REQUEST_LOG": "false",
            "PORTAL_OUTBOX_DRAIN_AFTER_COMMIT": "false",
        }
        headers = {"Authorization": f"Bearer {TOKEN}"}
        # both servers run side by side and are measured in alternating rounds, so a change in
        # the machine's load during the run hits both figures alike
        with Gunicorn("bench.common:baseline_app()", env, args.workers) as baseline, \
                Gunicorn("citizen_portal.app:create_app()", env, args.workers) as portal:
            baseline.wait("/baseline")
            portal.wait("/healthz")
            urls = [f"{portal.url}/api/v1/desks?date={day.isoformat()}&floor=rathaus-3og" for day in days]
            answer = requests.get(urls[0], headers=headers, timeout=30)
            answer.raise_for_status()
            body = answer.json()
            free = sum(d["free"]["morning"] for d in body["desks"])
            base_rounds, desk_rounds = [], []
            for _round in range(args.rounds):
                base_rounds.append(load(baseline.url + "/baseline", args.clients, args.seconds / args.rounds))
                desk_rounds.append(load(urls, args.clients, args.seconds / args.rounds, headers=headers))
        base, desks = merge(base_rounds), merge(desk_rounds)
        print(f"  desks per response: {len(body['desks'])} ({free} free in the morning), {len(answer.content)} bytes")
        print(f"  baseline /baseline : {base.summary()}")
        print(f"  /api/v1/desks      : {desks.summary()}")
        print("  per round (desks/baseline): "
              + ", ".join(f"{d.rps / b.rps:.2f}" for d, b in zip(desk_rounds, base_rounds, strict=True)))
        print(f"  ratio desks/baseline = {desks.rps / base.rps:.2f} (target >= 0.5)")
    finally:
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
