"""Periodic rules: automatic release of desk bookings nobody checked in to, and retention.

- Release (only when the site turns ``checkin`` on): on the booking's day, from ``release_time``
  (default 10:00) bookings of the morning or the whole day not checked in are released (deleted,
  calendar event removed); afternoon-only bookings from ``afternoon_release_time`` (14:00).
- Retention: desk bookings whose day ended, and room bookings that ended, more than
  ``retention_days`` (default 90) ago are deleted; so are blocks that ended that long ago.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone, utc_now
from staff_calendar import services as calendar
from staff_calendar.spaces.models import Desk, DeskBooking, RoomBooking, SpaceBlock
from staff_calendar.spaces.services.common import load_settings, username_of
from staff_calendar.spaces.services.desk_calendar import requeue_event


def release_unchecked(now: datetime | None = None) -> int:
    """Release today's bookings past their release time without check-in; returns half days released."""
    settings = load_settings()
    if not settings.checkin:
        return 0
    now_local = (now or utc_now()).astimezone(site_timezone())
    today = now_local.date()
    morning_due = now_local.time() >= time.fromisoformat(str(settings["release_time"]))
    afternoon_due = now_local.time() >= time.fromisoformat(str(settings["afternoon_release_time"]))
    if not (morning_due or afternoon_due):
        return 0
    released = 0
    with write_transaction(locks.desk_release()):
        rows = db.session.execute(
            select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
            .where(DeskBooking.day == today, DeskBooking.checked_in_at.is_(None))
        ).scalars().all()
        groups: dict[str, list[DeskBooking]] = defaultdict(list)
        for row in rows:
            groups[row.group_uid].append(row)
        for group_uid, group in groups.items():
            starts_in_morning = any(row.half == "morning" for row in group)
            if not (morning_due if starts_in_morning else afternoon_due):
                continue
            for row in group:
                db.session.delete(row)
                released += 1
            requeue_event(settings, username_of(group[0].user_id), group[0].desk, group_uid, [])
    if released:
        calendar.request_drain()
    return released


def purge_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete bookings and blocks that ended more than ``retention_days`` ago."""
    settings = load_settings()
    now = now or utc_now()
    cutoff_day = now.astimezone(site_timezone()).date() - timedelta(days=settings.retention_days)
    cutoff = now - timedelta(days=settings.retention_days)
    with write_transaction(locks.spaces_retention()):
        desks = db.session.execute(delete(DeskBooking).where(DeskBooking.day < cutoff_day)).rowcount
        rooms = db.session.execute(delete(RoomBooking).where(RoomBooking.end_at < cutoff)).rowcount
        blocks = db.session.execute(delete(SpaceBlock).where(SpaceBlock.last_day < cutoff_day)).rowcount
    return {"desk_bookings": desks, "room_bookings": rooms, "blocks": blocks}
