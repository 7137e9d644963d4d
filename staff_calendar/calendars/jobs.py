"""The calendar bridge's periodic jobs for the one worker (``flask worker``): deliver the outbox every
round, sync every calendar every ``CALDAV_SYNC_INTERVAL_SECONDS``, purge delivered outbox rows (30 days
after the event ended or was removed); and its health checks for ``/healthz``.

Checks read only the database (no network on ``/healthz``, so they are cheap; the reachability
they report is the worker's last sync result, at most one sync interval old):
- ``caldav``: how many active calendars failed their last sync; how many objects carry a sync warning
  (``warning_kinds``: capped, timeout, unreadable; counts only, no calendar keys or event text);
- ``outbox``: pending and failing counts, age of the oldest pending row;

Rule: a CalDAV server that is down does not make the portal unhealthy (bookings go on from the mirror
and the outbox keeps every write): ``caldav`` and ``outbox`` stay ``ok`` and say ``degraded: true``;
so does a sync warning (the busy time of that event is approximate: someone should look at it).
Only a dead worker (the core's ``worker`` check) turns ``ok`` false, because then nothing is
delivered or synced at all.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from citizen_portal.core.health import register_health_check
from citizen_portal.core.jobs import register_job
from citizen_portal.core.metrics import register_gauge, register_outbox
from citizen_portal.core.webhooks import register_event_type
from staff_calendar.calendars import worker
from staff_calendar.calendars.webhook_events import EVENT_TYPES

OUTBOX_STALE_SECONDS = 3600.0


def caldav_check() -> dict:
    from staff_calendar.calendars.status import calendar_status, warning_kind

    rows = calendar_status()
    failing = [row["calendar_key"] for row in rows if row["last_error"]]
    kinds: dict[str, int] = {}
    for row in rows:
        for warning in row["warnings"]:
            kinds[warning_kind(warning)] = kinds.get(warning_kind(warning), 0) + 1
    warnings = sum(kinds.values())
    return {"ok": True, "degraded": bool(failing or warnings), "calendars": len(rows), "failing": len(failing),
            "warnings": warnings, "warning_kinds": kinds}


def outbox_check() -> dict:
    from staff_calendar.calendars.status import worker_status

    status = worker_status()
    oldest = status["oldest_pending_age_seconds"]
    degraded = oldest is not None and oldest >= OUTBOX_STALE_SECONDS
    return {"ok": True, "degraded": degraded, "pending": status["pending"], "failing": status["failing"],
            "oldest_pending_age_seconds": oldest}


def outbox_backlog() -> tuple[int, datetime | None]:
    """Calendar outbox rows waiting and the time of the oldest (``/metrics``)."""
    from staff_calendar.calendars.status import pending_backlog

    return pending_backlog()


def sync_lag() -> dict[tuple[str, ...], float]:
    """Seconds since each active calendar's last successful sync (calendars never synced are left out:
    ``portal_calendar_sync_failing`` names them)."""
    from staff_calendar.calendars.status import calendar_status

    return {(row["calendar_key"],): row["lag_seconds"] for row in calendar_status() if row["lag_seconds"] is not None}


def sync_failing() -> dict[tuple[str, ...], float]:
    """1 for each active calendar whose last sync failed or that was never synced, else 0."""
    from staff_calendar.calendars.status import calendar_status

    return {(row["calendar_key"],): 0.0 if row["healthy"] else 1.0 for row in calendar_status()}


def delivery_failures() -> dict[tuple[str, ...], float]:
    """Outbox rows per calendar whose delivery failed at least once and that still wait."""
    from staff_calendar.calendars.status import failing_deliveries

    return {(key,): float(count) for key, count in failing_deliveries().items()}


def purge_outbox() -> int:
    from staff_calendar.calendars.outbox import purge_delivered

    return purge_delivered()


def register(app: Flask) -> None:
    """Register this area's jobs for the worker (deliver the outbox every round, sync every
    ``CALDAV_SYNC_INTERVAL_SECONDS``, purge delivered rows) and its health checks."""
    register_job(app, "calendar-outbox", worker.deliver_outbox, 0, order=10)
    sync_every = float(app.config["CALDAV_SYNC_INTERVAL_SECONDS"])
    register_job(app, "calendar-sync", worker.sync_calendars, sync_every, order=20)
    register_job(app, "calendar-outbox-purge", purge_outbox, 6 * 3600)
    register_health_check(app, "caldav", caldav_check)
    register_health_check(app, "outbox", outbox_check)
    register_outbox(app, "calendar", outbox_backlog)
    register_gauge(app, "portal_calendar_sync_lag_seconds", "Seconds since the last successful sync, per calendar",
                   sync_lag, ["calendar"])
    register_gauge(app, "portal_calendar_sync_failing", "1 when the calendar's last sync failed (or none succeeded)",
                   sync_failing, ["calendar"])
    register_gauge(app, "portal_calendar_delivery_failures", "Waiting event deliveries that failed at least once",
                   delivery_failures, ["calendar"])
    for event_type in EVENT_TYPES:  # calendar.sync_failed for webhooks
        register_event_type(app, event_type)
