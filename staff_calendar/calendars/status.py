"""Status of the calendar bridge for the CLI and ``/healthz`` (database only, no network).

Sync warnings are the objects whose busy time is approximate or missing (``calendar_objects.warning``:
a capped or timed-out expansion, an unreadable object); they name rules and times, never event text."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from citizen_portal.core.extensions import db
from citizen_portal.core.worker import heartbeat_age_seconds
from staff_calendar.calendars.models import CalendarLink, CalendarObject, CalendarSyncState, OutboxEntry


def calendar_status(now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    pending = dict(db.session.execute(
        select(OutboxEntry.calendar_key, func.count()).where(OutboxEntry.state == "pending")
        .group_by(OutboxEntry.calendar_key)).all())
    warnings: dict[str, list[str]] = {}
    for key, warning in db.session.execute(
            select(CalendarObject.calendar_key, CalendarObject.warning)
            .where(CalendarObject.warning.is_not(None)).order_by(CalendarObject.calendar_key, CalendarObject.warning)):
        warnings.setdefault(key, []).append(warning)
    rows = []
    query = (select(CalendarLink, CalendarSyncState)
             .outerjoin(CalendarSyncState, CalendarSyncState.calendar_key == CalendarLink.key)
             .where(CalendarLink.active.is_(True)).order_by(CalendarLink.key))
    for link, state in db.session.execute(query).all():
        last_success = state.last_success_at if state else None
        rows.append({
            "calendar_key": link.key,
            "mode": (state.mode if state else None) or "-",
            "last_success_at": last_success,
            "last_attempt_at": state.last_attempt_at if state else None,
            "lag_seconds": (now - last_success).total_seconds() if last_success else None,
            "pending": pending.get(link.key, 0),
            "last_error": state.last_error if state else None,
            "warnings": warnings.get(link.key, []),
            "healthy": bool(last_success) and not (state and state.last_error),
        })
    return rows


def warning_kind(warning: str) -> str:
    """``capped``, ``timeout`` or ``unreadable``: the word before the colon."""
    return warning.split(":", 1)[0]


def worker_status(now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    pending = db.session.scalar(select(func.count()).select_from(OutboxEntry)
                                .where(OutboxEntry.state == "pending")) or 0
    failing = db.session.scalar(select(func.count()).select_from(OutboxEntry)
                                .where(OutboxEntry.state == "pending", OutboxEntry.attempts > 0)) or 0
    oldest = db.session.scalar(select(func.min(OutboxEntry.updated_at)).where(OutboxEntry.state == "pending"))
    return {
        "pending": pending,
        "failing": failing,
        "oldest_pending_age_seconds": (now - oldest).total_seconds() if oldest else None,
        "heartbeat_age_seconds": heartbeat_age_seconds(now),
    }


def pending_backlog() -> tuple[int, datetime | None]:
    """Rows waiting for delivery and the last change of the oldest of them."""
    count, oldest = db.session.execute(select(func.count(), func.min(OutboxEntry.updated_at))
                                       .where(OutboxEntry.state == "pending")).one()
    return count or 0, oldest


def failing_deliveries() -> dict[str, int]:
    """Per calendar: waiting rows whose delivery failed at least once."""
    return dict(db.session.execute(
        select(OutboxEntry.calendar_key, func.count())
        .where(OutboxEntry.state == "pending", OutboxEntry.attempts > 0).group_by(OutboxEntry.calendar_key)).all())


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
