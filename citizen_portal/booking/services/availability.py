"""Availability of staff members at a location (Graph Bookings ``getStaffAvailability``).

Rules: a staff member is *available* in her working time at the location (its opening hours ∩ her own
working hours, per local day, as the slot engine reads them) outside her busy time; *busy* where her
working time meets busy time: active appointments (confirmed, arrived, no-show; pending while the hold
lives), her mirrored calendar (``busy_seconds``) and the bookings ``staff_calendar`` holds for her
(``booked_seconds``: room bookings and events written through Graph). Outside working time nothing is
reported. All times aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from citizen_portal.booking.models import ACTIVE_STATUSES, PENDING, Appointment, Location, StaffMember
from citizen_portal.booking.services.working_hours import working_seconds
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from staff_calendar import services as calendar_services


@dataclass(frozen=True)
class AvailabilityItem:
    start: datetime
    end: datetime
    status: str  # "available" | "busy"


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def staff_availability(location: Location, staff: list[StaffMember], start: datetime, end: datetime, *,
                       now: datetime | None = None) -> dict[str, list[AvailabilityItem]]:
    """Per staff key, her available and busy items within ``[start, end)`` (see the module's rules)."""
    now = now or datetime.now(UTC)
    zone = site_timezone()
    first, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    lo, hi = int(start.timestamp()), int(end.timestamp())
    busy: dict[int, list[tuple[int, int]]] = {member.id: [] for member in staff}
    for row in db.session.execute(select(Appointment.staff_id, Appointment.start_at, Appointment.blocked_until,
                                         Appointment.status, Appointment.hold_expires_at).where(
            Appointment.staff_id.in_(list(busy)), Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at < end, Appointment.blocked_until > start)):
        if row.status == PENDING and (row.hold_expires_at is None or row.hold_expires_at <= now):
            continue
        busy[row.staff_id].append((int(row.start_at.timestamp()), int(row.blocked_until.timestamp())))
    keys = {member.calendar_key: member.id for member in staff if member.calendar_key}
    for key, spans in calendar_services.busy_seconds(list(keys), start, end).items():
        busy[keys[key]].extend(spans)
    by_key = {member.key: member.id for member in staff}
    for key, spans in calendar_services.booked_seconds(list(by_key), start, end).items():
        busy[by_key[key]].extend(spans)
    result: dict[str, list[AvailabilityItem]] = {}
    for member in staff:
        items: list[AvailabilityItem] = []
        blocked = _merge(busy[member.id])
        day = first
        while day <= last:
            for w_start, w_end in working_seconds(location.opening_hours, member.working_hours, day, zone):
                cursor, stop = max(w_start, lo), min(w_end, hi)
                for b_start, b_end in blocked:
                    if b_end <= cursor or b_start >= stop:
                        continue
                    if b_start > cursor:
                        items.append(_item(cursor, b_start, "available"))
                    items.append(_item(max(b_start, cursor), min(b_end, stop), "busy"))
                    cursor = min(b_end, stop)
                if cursor < stop:
                    items.append(_item(cursor, stop, "available"))
            day += timedelta(days=1)
        result[member.key] = items
    return result


def _item(start: int, end: int, status: str) -> AvailabilityItem:
    return AvailabilityItem(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), status)
