"""Health checks of the calendar bridge for ``/healthz`` (the worker loop itself drains and syncs).

Checks read only the database (no network on ``/healthz``):
- ``caldav``: every active calendar's last sync attempt succeeded (cheap: the worker's last result);
- ``outbox``: pending and failing counts, age of the oldest pending row; not ok when a row has been
  pending for more than an hour;
- ``worker``: heartbeat age; not ok when the last heartbeat is older than 5 minutes
  (``null`` before any worker ever ran, which is ok so a fresh install is not reported down).
"""

from __future__ import annotations

from flask import Flask

from citizen_portal.jobs import register_health_check

OUTBOX_STALE_SECONDS = 3600.0


def caldav_check() -> dict:
    from staff_calendar.calendars.status import calendar_status

    rows = calendar_status()
    failing = [row["calendar_key"] for row in rows if row["last_error"]]
    return {"ok": not failing, "calendars": len(rows), "failing": len(failing)}


def outbox_check() -> dict:
    from staff_calendar.calendars.status import worker_status

    status = worker_status()
    oldest = status["oldest_pending_age_seconds"]
    return {"ok": oldest is None or oldest < OUTBOX_STALE_SECONDS, "pending": status["pending"],
            "failing": status["failing"], "oldest_pending_age_seconds": oldest}


def worker_check() -> dict:
    from staff_calendar.calendars.status import HEARTBEAT_STALE_SECONDS, worker_status

    age = worker_status()["heartbeat_age_seconds"]
    return {"ok": age is None or age < HEARTBEAT_STALE_SECONDS, "heartbeat_age_seconds": age}


def register(app: Flask) -> None:
    """Register this area's health checks (its periodic work runs in the worker loop itself)."""
    register_health_check(app, "caldav", caldav_check)
    register_health_check(app, "outbox", outbox_check)
    register_health_check(app, "worker", worker_check)
