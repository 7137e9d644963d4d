"""What the slot engine reads (``slot_engine.plan``): the qualified staff with the site settings, the
versions for the slot cache, and every staff member's blocked time as sorted, merged POSIX seconds.

Rules (the engine's, see ``slot_engine``): a staff member is *qualified* when active, serving the
service (``staff_services``) and working at one of the locations (``staff_locations``). Blocked time
of a staff member: her active appointments (``[start_at, blocked_until)``; a pending one only while
its hold lives; not the one being moved; cancelled ones during ``cancelled_slot_delay_minutes``, not
the seats of a reservation a ``FairPass`` books), her bookings held by ``staff_calendar`` (room
bookings, ``booked_seconds``), her mirrored calendar (``busy_seconds``) and, beyond the end of its
mirror (``mirrored_until``), everything.

Reads are plain Core rows (no ORM entities, no datetimes where the database can give numbers): a
fixed number of statements for any range.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select

from citizen_portal.booking.models import (
    ACTIVE_STATUSES,
    CANCELLED,
    PENDING,
    Appointment,
    Location,
    Service,
    StaffMember,
    staff_locations,
    staff_services,
)
from citizen_portal.booking.services import cache as slot_cache
from citizen_portal.booking.settings import BookingSettings, from_stored
from citizen_portal.core.extensions import db
from citizen_portal.core.intervals import merge_intervals
from citizen_portal.core.models import SiteSettings
from staff_calendar import services as calendar_services

UNKNOWN_AFTER_END = 2**62  # POSIX seconds: "for ever" (the end of a calendar's unmirrored time)


class Staff(NamedTuple):
    """A qualified staff member, as the engine needs her."""

    id: int
    key: str
    calendar_key: str | None
    working_hours: dict[str, list[str]] | None


class Blocked(NamedTuple):
    """Sorted, merged blocked intervals of one staff member (POSIX seconds): ``starts`` and ``ends``
    both ascending, so a candidate ``[start, end)`` is tested with one ``bisect`` (free when it only
    touches blocked time)."""

    starts: list[int]
    ends: list[int]


def merged(intervals: list[tuple[int, int]]) -> Blocked:
    joined = merge_intervals(intervals)
    return Blocked([start for start, _ in joined], [end for _, end in joined])


def site_inputs() -> tuple[BookingSettings, str | None]:
    """(the booking settings, the site's Bundesland for holidays) in one query."""
    row = db.session.execute(select(SiteSettings.settings, SiteSettings.holidays).limit(1)).first()
    if row is None:
        return BookingSettings(), None
    return from_stored((row.settings or {}).get("booking")), row.holidays


def _site_column(column: Any):
    return select(column).order_by(SiteSettings.id).limit(1).scalar_subquery()


# built once (building a statement costs more than running it); values are bound per call
_STAFF = (
    select(StaffMember.id, StaffMember.key, StaffMember.calendar_key, StaffMember.working_hours,
           staff_locations.c.location_id, _site_column(SiteSettings.settings), _site_column(SiteSettings.holidays))
    .join(staff_locations, staff_locations.c.staff_id == StaffMember.id)
    .where(StaffMember.active.is_(True), staff_locations.c.location_id.in_(bindparam("location_ids", expanding=True)),
           StaffMember.id.in_(select(staff_services.c.staff_id)
                              .where(staff_services.c.service_id == bindparam("service_id"))))
    .order_by(StaffMember.id, staff_locations.c.location_id)
)
_DAY_VERSION = slot_cache._day_version_expression(bindparam("staff_ids", expanding=True), bindparam("first"),
                                                 bindparam("last"))
_APPOINTMENTS = select(
    Appointment.id, Appointment.staff_id, Appointment.start_at, Appointment.blocked_until,
    Appointment.status, Appointment.hold_expires_at, Appointment.cancelled_at,
).where(
    Appointment.staff_id.in_(bindparam("staff_ids", expanding=True)),
    Appointment.start_at < bindparam("range_end"),
    Appointment.blocked_until > bindparam("range_start"),
    or_(
        Appointment.status.in_(ACTIVE_STATUSES),
        (Appointment.status == CANCELLED) & (Appointment.cancelled_at > bindparam("cancelled_after")),
    ),
)


def staff_and_site(service: Service, locations: list[Location]) -> tuple[
        dict[int, list[Staff]], BookingSettings, str | None]:
    """Qualified staff per location id (ordered by id), the booking settings and the site's
    Bundesland: one statement (the site row rides along as two scalar subqueries). Without staff the
    settings are the declared defaults (nothing is computed then)."""
    location_ids = [location.id for location in locations]
    if not location_ids:
        return {}, BookingSettings(), None
    rows = db.session.execute(_STAFF, {"location_ids": location_ids, "service_id": service.id}).all()
    result: dict[int, list[Staff]] = defaultdict(list)
    for row in rows:
        result[row[4]].append(Staff(row[0], row[1], row[2], row[3]))
    if not rows:
        return result, BookingSettings(), None
    return result, from_stored((rows[0][5] or {}).get("booking")), rows[0][6]


def versions(staff_ids: list[int], version_days: tuple[date, date], calendar_keys: tuple[str, ...]) -> tuple[int, str]:
    """(the staff/day version of ``staff_ids`` on ``version_days``, the mirror version of
    ``calendar_keys`` or "" without calendars), for the slot cache, in one statement; read before the
    appointments and the busy time, so a change after it is caught by the cache's next check."""
    columns = [_DAY_VERSION]
    if calendar_keys:
        columns.append(calendar_services.busy_version_expression(calendar_keys))
    row = db.session.execute(select(*columns), {"staff_ids": staff_ids, "first": version_days[0],
                                                "last": version_days[1]}).one()
    return int(row[0] or 0), (row[1] if calendar_keys else "")


class Appointments(NamedTuple):
    blocked: dict[int, list[tuple[int, int]]]
    load: dict[tuple[int, date], int]
    valid_until: float


def appointments(staff_ids: list[int], range_start: datetime, range_end: datetime, *, now: datetime,
                 cancel_delay_s: int, zone: ZoneInfo, valid_until: float, ignore_appointment_id: int | None,
                 freed_start: datetime | None) -> Appointments:
    """Blocked time from appointments (see the module's rules), the active appointments per (staff
    id, local day), and ``valid_until`` lowered to the end of a live hold or a cancellation delay
    (one statement)."""
    rows = db.session.execute(_APPOINTMENTS, {
        "staff_ids": staff_ids, "range_start": range_start, "range_end": range_end,
        "cancelled_after": now - timedelta(seconds=cancel_delay_s)}).all()
    blocked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    load: dict[tuple[int, date], int] = defaultdict(int)
    for row in rows:
        if row.id == ignore_appointment_id or (row.status == CANCELLED and row.start_at == freed_start):
            continue
        if row.status == PENDING:
            if row.hold_expires_at is None or row.hold_expires_at <= now:
                continue
            valid_until = min(valid_until, row.hold_expires_at.timestamp())  # the hold ends: the time frees
        elif row.status == CANCELLED:
            valid_until = min(valid_until, row.cancelled_at.timestamp() + cancel_delay_s)
        blocked[row.staff_id].append((int(row.start_at.timestamp()), -int(-row.blocked_until.timestamp() // 1)))
        if row.status != CANCELLED:
            load[(row.staff_id, row.start_at.astimezone(zone).date())] += 1
    return Appointments(blocked, dict(load), valid_until)


def calendar_blocked(members: list[Staff], blocked: dict[int, list[tuple[int, int]]],
                     range_start: datetime, range_end: datetime) -> None:
    """Add to ``blocked`` (per staff id) the staff members' room bookings (one call by staff key),
    their mirrored busy time (one call for all calendars, no CalDAV) and their unmirrored time."""
    members_by_key = {member.key: member.id for member in members}
    for key, intervals in calendar_services.booked_seconds(members_by_key, range_start, range_end).items():
        blocked[members_by_key[key]].extend(intervals)
    calendar_of = {member.id: member.calendar_key for member in members if member.calendar_key}
    if not calendar_of:
        return
    calendar_keys = tuple(sorted(set(calendar_of.values())))
    busy = calendar_services.busy_seconds(calendar_keys, range_start, range_end)
    mirrored_until = calendar_services.mirrored_until(calendar_keys)
    for member_id, key in calendar_of.items():
        blocked[member_id].extend(busy.get(key, ()))
        # beyond the mirrored range her calendar is unknown: busy for the engine (on the grid, not free)
        blocked[member_id].append((mirrored_until.get(key, 0), UNKNOWN_AFTER_END))
