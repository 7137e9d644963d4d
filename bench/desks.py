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
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests

from bench.common import Gunicorn, LoadResult, load

DESKS = 200
STAFF = 500
OCCUPANCY = 0.7
TOKEN = "bench-token"


def make_database(url: str | None):
    """Return (database url, cleanup); a throwaway PostgreSQL cluster when ``url`` is None."""
    from sqlalchemy import create_engine, text

    from tests.fixtures.database import PostgresCluster

    if url and url.startswith("sqlite"):
        return url, lambda: None
    cluster = None
    if url is None:
        cluster = PostgresCluster(Path(f"/tmp/bench-pg-{uuid.uuid4().hex[:8]}"))
        cluster.start()
        url = cluster.url()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()

    def cleanup() -> None:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)

    return url.rsplit("/", 1)[0] + f"/{name}", cleanup


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
    from citizen_portal.extensions import db
    from citizen_portal.models import ApiToken, SiteSettings, User
    from staff_calendar.spaces.models import Desk, DeskBooking, Floor

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
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
        db.session.add(ApiToken(user_id=user_ids[0], name="bench", token_hash=digest))
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


def load_rotating(urls: list[str], headers: dict[str, str], clients: int, seconds: float,
                  warmup: float = 1.0) -> LoadResult:
    """Like ``bench.common.load`` but with headers and a rotation over ``urls``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers.update(headers)
        mine, failed, n = [], 0, offset
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            try:
                ok = session.get(urls[n % len(urls)], timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            n += 1
            ended = time.monotonic()
            if began >= start_at:
                if ok:
                    mine.append((ended - began) * 1000)
                else:
                    failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(len(latencies), errors[0], seconds, latencies)


def merge(results: list[LoadResult]) -> LoadResult:
    return LoadResult(sum(r.requests for r in results), sum(r.errors for r in results),
                      sum(r.seconds for r in results), [x for r in results for x in r.latencies_ms])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-desks-"))
    database_url, cleanup = make_database(args.database_url)
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
                desk_rounds.append(load_rotating(urls, headers, args.clients, args.seconds / args.rounds))
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
