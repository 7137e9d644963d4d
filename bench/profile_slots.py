"""Where the time of a booking and of a cold slot computation goes (cProfile, in-process, SQLite
or ``--database-url``), on the ``bench.slots`` city (10 staff, 2,000 mirrored busy events).

    .venv/bin/python -m bench.profile_slots [--what booking|plan] [--count 100] [--database-url URL] [--plain]

``booking``: ``count`` bookings of distinct free times through the Flask test client
(``POST /api/v1/appointments``), top 20 functions by own time and the booking path's cumulative
times. ``plan``: ``slot_engine.plan`` for 4 weeks with a fresh session each time (the cold path
of the slot cache), timings and the top 20 (``--plain``: timings without the profiler). ``time_plan``
is also used by ``bench.suite``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

SERVICE = "personalausweis"
OWN_MODULES = (r"^(claim|appointments|notifications|mail|services|slot_engine|database|locks|calendar_events|"
               r"webhook_events|events|outbox|holds|codes|api|worker|metrics|security|working_hours)\.py")


def _app(url: str):
    from citizen_portal.app import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CAPTCHA": "off", "RATELIMIT_ENABLED": False,
                       "REQUEST_LOG": False, "OUTBOX_DRAIN_AFTER_COMMIT": False})


def time_plan(url: str, first_day: date, days: int, iterations: int = 100,
              profile: cProfile.Profile | None = None) -> list[float]:
    """Milliseconds per ``plan`` of ``days`` days from ``first_day``, each in a fresh session."""
    from citizen_portal.booking.services.slot_engine import load_service, plan
    from citizen_portal.core.extensions import db

    app = _app(url)
    times = []
    now = datetime.now(UTC)
    with app.test_request_context():
        plan(load_service(SERVICE), first_day, first_day + timedelta(days=days - 1), now=now, with_validity=True)
        for _ in range(iterations):
            db.session.remove()
            began = time.perf_counter()
            if profile:
                profile.enable()
            plan(load_service(SERVICE), first_day, first_day + timedelta(days=days - 1), now=now, with_validity=True)
            if profile:
                profile.disable()
            times.append((time.perf_counter() - began) * 1000)
        db.engine.dispose()
    return times


def profile_bookings(url: str, first_day: date, count: int, profile: cProfile.Profile) -> list[float]:
    app = _app(url)
    client = app.test_client()
    path = f"/api/v1/services/{SERVICE}/slots?from={first_day}&to={first_day + timedelta(days=27)}"
    starts = [slot["start"] for slot in client.get(path).get_json()["slots"]][:count]
    times = []
    for number, start in enumerate(starts):
        body = {"service": SERVICE, "location": "rathaus", "start": start, "name": f"P {number}",
                "email": f"p{number}@example.org", "privacy_consent": True}
        began = time.perf_counter()
        profile.enable()
        response = client.post("/api/v1/appointments", json=body)
        profile.disable()
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return times


def profile_cached(url: str, first_day: date, count: int, profile: cProfile.Profile) -> list[float]:
    """``count`` cached 1-day slot requests through the Flask test client."""
    client = _app(url).test_client()
    day = first_day + timedelta(days=(7 - first_day.weekday()) % 7 + 1)
    path = f"/api/v1/services/{SERVICE}/slots?from={day}&to={day}"
    client.get(path)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        profile.enable()
        response = client.get(path)
        profile.disable()
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return times


def top(profile: cProfile.Profile, sort: str, limit: int | str = 20) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return out.getvalue()


def main() -> None:
    from bench.common import throwaway_database
    from bench.slots import seed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", choices=("booking", "plan", "cached"), default="booking")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--database-url")
    parser.add_argument("--plain", action="store_true",
                        help="plan only: time without the profiler (cProfile roughly doubles these times)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    url, cleanup = throwaway_database(args.database_url or f"sqlite:///{workdir}/profile.db", "bench_profile")
    try:
        first_day = date.today() + timedelta(days=1)
        seed(url, workdir, first_day)
        profile = cProfile.Profile()
        if args.what == "plan" and args.plain:
            times = time_plan(url, first_day, 28, args.count)
            print(f"plan (no profiler): {len(times)} × p50 {statistics.median(times):.2f} ms, min {min(times):.2f} ms")
            return
        if args.what == "plan":
            times = time_plan(url, first_day, 28, args.count, profile)
        elif args.what == "cached":
            times = profile_cached(url, first_day, args.count, profile)
        else:
            times = profile_bookings(url, first_day, args.count, profile)
        print(f"{args.what}: {len(times)} × p50 {statistics.median(times):.2f} ms, min {min(times):.2f} ms")
        print(top(profile, "tottime"))
        print(top(profile, "cumulative", 40))
        print(top(profile, "cumulative", OWN_MODULES))
    finally:
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
