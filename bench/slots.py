"""Benchmark of the slot search: ``GET /api/v1/services/<key>/slots`` over 4 weeks for a service
with 10 qualified staff members and 2,000 busy events in the calendar mirror, under 16 concurrent
clients, against a bare Flask JSON endpoint served by the same gunicorn settings in the same run.

    .venv/bin/python -m bench.slots [--database-url URL] [--clients 16] [--seconds 15] [--workers 4] [--rounds 3]

Both servers run side by side and the load alternates between them (``--rounds``, ``--seconds``
in total per endpoint), so both see the same background load. Before that, the in-process time of
one slots request (Flask test client, 200 requests each: served from the slot cache, and computed
with the cache emptied) is measured: that figure does not depend on the load generator.

Without ``--database-url`` a throwaway PostgreSQL cluster is made (Debian ``initdb``), like the
tests do. Targets (issue 4): ratio slots/baseline >= 0.5, p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import Gunicorn, load, merge

STAFF = 10
BUSY_EVENTS = 2000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def make_database(url: str | None, workdir: Path):
    """Return (database url, cleanup); a throwaway cluster when ``url`` is None."""
    from sqlalchemy import create_engine, text

    from tests.fixtures.database import PostgresCluster

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
    database_url = url.rsplit("/", 1)[0] + f"/{name}"

    def cleanup() -> None:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)

    return database_url, cleanup


def seed(database_url: str, instance: Path, first_day: date) -> str:
    """Migrate, then a location, a service, 10 staff with calendars and 2,000 mirrored busy events."""
    from flask_migrate import upgrade

    from citizen_portal.app import create_app
    from citizen_portal.booking.models import Location, Service, StaffMember
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import SiteSettings
    from staff_calendar.calendars.models import BusyInterval, CalendarLink, CalendarSyncState

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.session.add(SiteSettings(name="Bench", timezone="Europe/Berlin", holidays="BW", settings={}))
        hours = {day: ["08:00-12:00", "13:00-18:00"] for day in WEEKDAYS}
        location = Location(key="rathaus", name={"de": "Rathaus", "en": "Town hall"}, address="Marktplatz 1",
                            opening_hours=hours, closures=[])
        service = Service(key="personalausweis", name={"de": "Personalausweis", "en": "ID card"},
                          duration_minutes=15, buffer_minutes=5, min_lead_hours=0, horizon_days=90)
        service.locations = [location]
        db.session.add_all([location, service])
        zone = ZoneInfo("Europe/Berlin")
        rng = random.Random(4)
        for index in range(STAFF):
            key = f"staff{index}"
            db.session.add(CalendarLink(key=f"staff:{key}", owner_kind="staff", owner_key=key,
                                        url=f"http://127.0.0.1:9/{key}/"))
            # mirrored as far as a sync would (the engine offers nobody beyond the mirror window)
            db.session.add(CalendarSyncState(
                calendar_key=f"staff:{key}", mode="sync", last_success_at=datetime.now(UTC),
                window_start=datetime.combine(first_day - timedelta(days=1), time(0), tzinfo=zone),
                window_end=datetime.combine(first_day + timedelta(days=120), time(0), tzinfo=zone)))
            db.session.flush()
            member = StaffMember(key=key, name=f"Staff {index}", calendar_key=f"staff:{key}",
                                 working_hours=None)
            member.locations, member.services = [location], [service]
            db.session.add(member)
        db.session.flush()
        for number in range(BUSY_EVENTS):
            day = first_day + timedelta(days=rng.randrange(28))
            start = datetime.combine(day, time(8 + rng.randrange(10), rng.choice((0, 15, 30, 45))), tzinfo=zone)
            end = start + timedelta(minutes=rng.choice((15, 30, 45, 60, 90)))
            db.session.add(BusyInterval(calendar_key=f"staff:staff{number % STAFF}", href=f"/e/{number}.ics",
                                        start=start.astimezone(UTC), end=end.astimezone(UTC)))
        db.session.commit()
        db.engine.dispose()
    return "personalausweis"


def in_process(database_url: str, path: str, iterations: int = 200) -> dict[str, list[float]]:
    """Times (ms) of one slots request through the Flask test client, ``iterations`` each: served
    from the slot cache (the normal case: validated by two small queries), and computed from
    scratch (cache emptied before every request)."""
    import time as clock

    from citizen_portal.app import create_app
    from citizen_portal.booking.services.cache import slot_cache
    from citizen_portal.core.extensions import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "CAPTCHA": "off",
                      "RATELIMIT_ENABLED": False, "REQUEST_LOG": False})
    client = app.test_client()
    times: dict[str, list[float]] = {"cached": [], "computed": []}
    with app.app_context():
        cache = slot_cache()
    for mode in ("computed", "cached"):
        client.get(path)  # warm-up
        for _ in range(iterations):
            if mode == "computed":
                cache.clear()
            began = clock.perf_counter()
            response = client.get(path)
            times[mode].append((clock.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
    with app.app_context():
        db.engine.dispose()
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating baseline/slots rounds")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-slots-"))
    database_url, cleanup = make_database(args.database_url, workdir)
    try:
        first_day = date.today() + timedelta(days=1)
        service = seed(database_url, workdir, first_day)
        env = {
            "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSTANCE_PATH": str(workdir),
            "PORTAL_CAPTCHA": "off", "PORTAL_RATELIMIT_ENABLED": "false", "PORTAL_REQUEST_LOG": "false",
        }
        path = f"/api/v1/services/{service}/slots?from={first_day}&to={first_day + timedelta(days=27)}"
        timings = in_process(database_url, path)
        print(f"slots bench: {STAFF} staff, {BUSY_EVENTS} busy events, 4 weeks, {args.clients} clients, "
              f"{args.workers} gunicorn workers, {args.seconds:.0f} s each in {args.rounds} alternating rounds")
        # both servers up at once (the idle one costs nothing); the load alternates between them in
        # ``--rounds`` rounds, so a change of background load on the machine hits both alike
        with Gunicorn("bench.common:baseline_app()", env, args.workers) as baseline, \
                Gunicorn("citizen_portal.app:create_app()", env, args.workers) as portal:
            baseline.wait("/baseline")
            portal.wait("/api/v1/services")
            import requests

            answer = requests.get(portal.url + path, timeout=30).json()
            per_round = args.seconds / args.rounds
            base_rounds, slot_rounds = [], []
            for _ in range(args.rounds):
                base_rounds.append(load(baseline.url + "/baseline", args.clients, per_round))
                slot_rounds.append(load(portal.url + path, args.clients, per_round))
            base, slots = merge(base_rounds), merge(slot_rounds)
        print(f"  slots returned per request: {len(answer['slots'])}")
        for mode, values in timings.items():
            print(f"  in-process (Flask test client, {len(values)} requests, {mode:8}): "
                  f"p50 {_pct(values, 50):6.2f} ms  p95 {_pct(values, 95):6.2f} ms")
        print(f"  baseline /baseline : {base.summary()}")
        print(f"  slots endpoint     : {slots.summary()}")
        ratio = slots.rps / base.rps
        print(f"  ratio slots/baseline = {ratio:.2f} (target >= 0.5); p95 = {slots.percentile(95):.1f} ms "
              f"(target <= 30 ms)")
    finally:
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
