"""Benchmark of the Graph calendarView: one staff calendar whose mirror holds ``--objects`` remote
objects (every tenth a weekly series of 20, busy rows as the sync writes them, spread over ``--spread-days``
from tomorrow), plus ``--own`` platform events in the outbox; the median and p95
in-process time (Flask test client) of ``GET /graph/v1.0/users/{id}/calendarView`` over 4 weeks, page
size 50, and of getSchedule for the same 4 weeks.

    .venv/bin/python -m bench.graph_calendar_view [--objects 500] [--own 200] [--requests 30]

SQLite file in a temporary folder (the reading is per object in Python, the database is not the cost).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BER = ZoneInfo("Europe/Berlin")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--own", type=int, default=200)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--spread-days", type=int, default=28, help="objects start within this many days")
    args = parser.parse_args()

    import icalendar
    from flask_migrate import upgrade

    from citizen_portal.app import create_app
    from citizen_portal.core.api_tokens import create_api_token
    from citizen_portal.core.extensions import db
    from staff_calendar import services
    from staff_calendar.calendars.models import BusyInterval, CalendarLink, CalendarObject
    from tests.factories import make_location, make_staff, make_user, stamp_mirror

    workdir = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
                      "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "OUTBOX_DRAIN_AFTER_COMMIT": False})
    start = datetime.now(BER).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with app.app_context():
        upgrade()
        db.session.add(CalendarLink(key="staff:bench", owner_kind="staff", owner_key="bench",
                                    url="http://127.0.0.1:9/", active=True))
        db.session.commit()
        make_staff("bench", locations=[make_location()], calendar_key="staff:bench")
        make_user("bench")
        token = create_api_token("bench", "bench")
        for n in range(args.objects):
            day = start + timedelta(days=n % args.spread_days, hours=8 + n % 9)
            event = icalendar.Event.new(uid=f"remote-{n}@other.example", summary=f"Termin {n}", start=day,
                                        end=day + timedelta(minutes=45))
            if n % 10 == 0:
                event.add("rrule", {"freq": "weekly", "count": 20})
            calendar = icalendar.Calendar()
            calendar.add("prodid", "-//bench//")
            calendar.add("version", "2.0")
            calendar.add_component(event)
            db.session.add(CalendarObject(calendar_key="staff:bench", href=f"/c/{n}.ics", etag=f'"{n}"',
                                          uid=f"remote-{n}@other.example", own=False,
                                          data=calendar.to_ical().decode()))
            for week in range(20 if n % 10 == 0 else 1):  # what the mirror's sync writes
                begin = (day + timedelta(weeks=week)).astimezone(UTC)
                db.session.add(BusyInterval(calendar_key="staff:bench", href=f"/c/{n}.ics", start=begin,
                                            end=begin + timedelta(minutes=45)))
        stamp_mirror("staff:bench")
        for n in range(args.own):
            moment = (start + timedelta(days=n % 28, hours=12)).astimezone(UTC)
            services.schedule_event(calendar_key="staff:bench", uid=services.event_uid("appointment", n),
                                    summary=f"Bürgertermin {n}", start=moment, end=moment + timedelta(minutes=30))
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Prefer": 'outlook.timezone="Europe/Berlin"'}
    query = {"startDateTime": start.isoformat(), "endDateTime": (start + timedelta(days=28)).isoformat(),
             "$top": "50"}
    schedule = {"schedules": ["bench@musterhausen.example"],
                "startTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "Europe/Berlin"},
                "endTime": {"dateTime": (start + timedelta(days=28)).strftime("%Y-%m-%dT%H:%M:%S"),
                            "timeZone": "Europe/Berlin"}, "availabilityViewInterval": 30}
    for name, call in [("calendarView (4 weeks, page 1 of 50)",
                        lambda: client.get("/graph/v1.0/users/staff-bench/calendarView", query_string=query,
                                           headers=headers)),
                       ("getSchedule (4 weeks, 30 min)",
                        lambda: client.post("/graph/v1.0/users/staff-bench/calendar/getSchedule", json=schedule,
                                            headers=headers))]:
        times, body = [], None
        for _ in range(args.requests):
            began = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
        first = body["value"][0] if body["value"] else {}
        items = len(first["scheduleItems"]) if "scheduleItems" in first else len(body["value"])
        times.sort()
        print(f"{name}: median {statistics.median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms"
              f" ({args.objects} mirrored objects, {args.own} own events; items {items})")


if __name__ == "__main__":
    main()
