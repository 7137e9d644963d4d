"""The slot engine: which times of a service can be booked, and by which staff members.

Rules (each has its own test in ``tests/citizen_portal/booking/test_slots.py``):

- A staff member is *qualified* when active, serving the service (``staff_services``) and working
  at the location (``staff_locations``), and the service is offered at the location.
- Working time on a local day: ``working_hours`` (opening hours ∩ working hours, public holidays,
  DST); closed on the location's ``closures``.
- Candidates start on a grid: from the start of each working interval every
  ``BookingSettings.slot_step_minutes`` (default: duration + buffer) minutes, and the whole
  ``[start, start + duration + buffer)`` must fit into the interval.
- A candidate is free for a staff member when ``[start, start + duration + buffer)`` overlaps none of:
  mirrored busy time (``staff_calendar.services.busy_seconds``, one call for all staff),
  her bookings held by ``staff_calendar`` (room bookings: ``booked_seconds``, by staff key = username),
  active appointments (``[start_at, blocked_until)``; a pending one only while its hold lives),
  and appointments cancelled less than ``cancelled_slot_delay_minutes`` ago (against slot trading).
- A staff member with a calendar is offered only where her calendar is mirrored
  (``staff_calendar.services.mirrored_until``): ``start + duration + buffer`` at or before the end
  of the mirror window of its last successful sync; a calendar never synced offers nothing.
- Lead time: start >= now + ``min_lead_hours``; horizon: local day <= today + ``horizon_days``.
- A time is offered once per location even when several staff members are free; the result keeps
  the free staff ids for the fair choice in ``appointments.book``.

Everything is loaded in bulk (a fixed number of queries for any range) and computed in memory in
integer POSIX seconds; no CalDAV request happens here. ``plan`` is called directly by the booking
path (``appointments``, ``manage``: always afresh) and through the slot cache by ``slots``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from citizen_portal.booking.fairness.hooks import FairPass, withheld
from citizen_portal.booking.models import (
    ACTIVE_STATUSES,
    CANCELLED,
    PENDING,
    Appointment,
    Location,
    Service,
    StaffMember,
)
from citizen_portal.booking.services import cache as slot_cache
from citizen_portal.booking.services.working_hours import working_seconds
from citizen_portal.booking.settings import BookingSettings, from_stored
from citizen_portal.core.calendar_days import is_public_holiday
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from citizen_portal.core.models import SiteSettings
from staff_calendar import services as calendar_services

UNKNOWN_AFTER_END = 2**62  # POSIX seconds: "for ever" (the end of a calendar's unmirrored time)


@dataclass(frozen=True)
class Slot:
    """A bookable time at a location; ``staff_ids`` are the staff members free then (internal:
    never shown to citizens)."""

    start: datetime
    end: datetime
    location_key: str
    staff_ids: tuple[int, ...] = field(default=(), compare=False)

    def to_json(self, zone: ZoneInfo | None = None) -> dict[str, str]:
        zone = zone or site_timezone()
        return {
            "start": self.start.astimezone(zone).isoformat(),
            "end": self.end.astimezone(zone).isoformat(),
            "location": self.location_key,
        }


@dataclass
class SlotPlan:
    """Engine result for internal callers: the free slots, every grid start that would be bookable
    if nobody occupied it (to tell "not a bookable time" from "taken"), and the number of active
    appointments per (staff id, local day) for the fair choice."""

    slots: list[Slot]
    grid: set[tuple[str, datetime]]
    load: dict[tuple[int, date], int]
    # for the slot cache (``with_validity``): the result holds while ``now < valid_until`` (POSIX
    # seconds: next local midnight, a hold's end, a cancelled slot's release, the first slot's lead
    # time) and neither the booking inputs nor the mirror version of ``calendar_keys`` change
    valid_until: float = float("inf")
    calendar_keys: tuple[str, ...] = ()
    mirror_version: str = ""
    # and the staff/day versions (``cache.staff_day_version``) of ``staff_ids`` on the UTC days
    # ``version_days`` (first, last) are unchanged
    staff_ids: tuple[int, ...] = ()
    version_days: tuple[date, date] | None = None
    day_version: int = 0


def booking_settings() -> BookingSettings:
    """The site's appointment settings (``SiteSettings.settings["booking"]``) over their declared
    defaults (``citizen_portal.booking.settings``)."""
    return _site_inputs()[0]


def _site_inputs() -> tuple[BookingSettings, str | None]:
    """(``booking_settings()``, the site's Bundesland for holidays) in one query."""
    row = db.session.execute(select(SiteSettings.settings, SiteSettings.holidays).limit(1)).first()
    if row is None:
        return BookingSettings(), None
    return from_stored((row.settings or {}).get("booking")), row.holidays


class _Blocked:
    """Sorted, merged busy intervals of one staff member (POSIX seconds): ``plan`` tests a candidate
    ``[start, end)`` with one ``bisect`` (free when it only touches busy time)."""

    def __init__(self, intervals: list[tuple[int, int]]) -> None:
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(intervals):
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        self.starts, self.ends = starts, ends


def longest_horizon_days() -> int:
    """The furthest any active service can be booked (days after today); 0 without services. The
    busy-time mirror covers at least this far (registered in ``booking/jobs.py``)."""
    return db.session.scalar(select(func.max(Service.horizon_days)).where(Service.active.is_(True))) or 0


def load_service(service_key: str) -> Service:
    service = db.session.scalars(
        select(Service).where(Service.key == service_key).options(selectinload(Service.locations))
    ).first()
    if service is None or not service.active:
        raise NotFound(_l("Diese Leistung gibt es nicht."))
    return service


def offered_location(service: Service, location_key: str) -> Location:
    """The active location ``location_key`` if it offers ``service``; ``NotFound`` otherwise (the one
    check of "offered at this location": pages, slot search and booking ask it)."""
    for location in service.locations:
        if location.key == location_key and location.active:
            return location
    raise NotFound(_l("Diese Leistung wird an diesem Standort nicht angeboten."))


def qualified_staff(service: Service, locations: list[Location]) -> dict[int, list[StaffMember]]:
    """Active staff serving ``service`` per location id (one query)."""
    location_ids = {location.id for location in locations}
    members = db.session.scalars(
        select(StaffMember)
        .where(StaffMember.active.is_(True), StaffMember.services.any(Service.id == service.id))
        .options(selectinload(StaffMember.locations))
        .order_by(StaffMember.id)
    ).all()
    result: dict[int, list[StaffMember]] = defaultdict(list)
    for member in members:
        for location in member.locations:
            if location.id in location_ids:
                result[location.id].append(member)
    return result


def plan(
    service: Service,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    location_key: str | None = None,
    ignore_appointment_id: int | None = None,
    with_grid: bool = False,
    with_validity: bool = False,
    fair_pass: FairPass | None = None,
) -> SlotPlan:
    """Compute free slots of ``service`` on the local days ``first_day``..``last_day`` (inclusive).

    ``ignore_appointment_id``: an appointment being moved does not block itself. ``with_grid``:
    also return every grid start (for telling "not a bookable time" from "taken").
    ``with_validity``: also fill ``valid_until``, ``calendar_keys``, ``mirror_version`` (read before
    the busy time) for the slot cache.

    Fixed number of queries: settings, staff (+ their locations), appointments, room bookings,
    mirror (+ its coverage and version), and the times fair access withholds (``fairness.hooks.withheld``:
    reserved for waiting-list offers, days not yet released; ``fair_pass`` lets an offer or the lottery
    through). Computed in integer POSIX seconds; datetimes only for the resulting slots."""
    zone = site_timezone()
    settings, region = _site_inputs()
    locations = [loc for loc in service.locations if loc.active]
    if location_key is not None:
        locations = [loc for loc in locations if loc.key == location_key]
    staff_by_location = qualified_staff(service, locations)
    staff_ids = sorted({member.id for members in staff_by_location.values() for member in members})

    duration_s = service.duration_minutes * 60
    occupied_s = duration_s + service.buffer_minutes * 60
    step_s = int(settings.slot_step_minutes or occupied_s // 60) * 60
    lead_s = service.min_lead_hours * 3600
    now_s = now.timestamp()
    earliest_s = now_s + lead_s
    today = now.astimezone(zone).date()
    next_midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).timestamp()
    last_day = min(last_day, today + timedelta(days=service.horizon_days))
    first_day = max(first_day, today)
    if not staff_ids or last_day < first_day:
        return SlotPlan([], set(), {}, valid_until=next_midnight)

    range_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    cancel_delay_s = settings.cancelled_slot_delay_minutes * 60
    hidden = withheld(service, first_day, last_day, today, fair_pass)
    valid_until = next_midnight  # the result holds while now < valid_until (and no input changes)
    version_days, day_version = None, 0
    if with_validity:  # before the appointments: a change after this read is caught by the next check
        version_days = (slot_cache.version_day(range_start), slot_cache.version_day(range_end - timedelta(seconds=1)))
        day_version = slot_cache.staff_day_version(staff_ids, *version_days)

    # bulk: every appointment of these staff members in the range that can block time (1 query)
    rows = db.session.execute(
        select(
            Appointment.id, Appointment.staff_id, Appointment.start_at, Appointment.blocked_until,
            Appointment.status, Appointment.hold_expires_at, Appointment.cancelled_at,
        ).where(
            Appointment.staff_id.in_(staff_ids),
            Appointment.start_at < range_end,
            Appointment.blocked_until > range_start,
            or_(
                Appointment.status.in_(ACTIVE_STATUSES),
                (Appointment.status == CANCELLED)
                & (Appointment.cancelled_at > now - timedelta(seconds=cancel_delay_s)),
            ),
        )
    ).all()
    blocked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    load: dict[tuple[int, date], int] = defaultdict(int)
    for row in rows:
        if row.id == ignore_appointment_id or (row.status == CANCELLED and row.start_at == hidden.freed_start):
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

    # bulk: their own bookings held by staff_calendar, e.g. room bookings (1 query)
    members_by_key = {member.key: member.id for members in staff_by_location.values() for member in members}
    for key, intervals in calendar_services.booked_seconds(members_by_key, range_start, range_end).items():
        blocked[members_by_key[key]].extend(intervals)

    # bulk: mirrored busy time of all their calendars (1 call, no CalDAV)
    calendar_of = {
        member.id: member.calendar_key
        for members in staff_by_location.values() for member in members if member.calendar_key
    }
    calendar_keys = tuple(sorted(set(calendar_of.values())))
    mirror_version = ""
    if calendar_keys:
        if with_validity:  # before the data: a change after this read is caught by the next check
            mirror_version = calendar_services.busy_version(calendar_keys)
        busy = calendar_services.busy_seconds(calendar_keys, range_start, range_end)
        mirrored_until = calendar_services.mirrored_until(calendar_keys)
        for member_id, key in calendar_of.items():
            blocked[member_id].extend(busy.get(key, ()))
            # beyond the mirrored range her calendar is unknown: busy for the engine (on the grid, not free)
            blocked[member_id].append((mirrored_until.get(key, 0), UNKNOWN_AFTER_END))
    blocked_index = {member_id: _Blocked(blocked.get(member_id, [])) for member_id in staff_ids}

    free: dict[tuple[int, str], list[int]] = defaultdict(list)
    grid: set[tuple[str, datetime]] = set()
    closures = {location.id: set(location.closures or []) for location in locations}
    day = first_day
    while day <= last_day:
        holiday = is_public_holiday(day, region)
        day_text = day.isoformat()
        for location in locations:
            if holiday or day_text in closures[location.id]:
                continue
            loc_key = location.key
            opening_hours = location.opening_hours
            for member in staff_by_location.get(location.id, []):
                index = blocked_index[member.id]
                busy_starts, busy_ends, busy_count = index.starts, index.ends, len(index.starts)
                member_id = member.id
                for start, end in working_seconds(opening_hours, member.working_hours, day, zone):
                    candidate, last = start, end - occupied_s
                    if candidate < earliest_s:  # first grid point at or after the lead time
                        candidate += -(-(earliest_s - candidate) // step_s) * step_s
                        candidate = int(candidate)
                    while candidate <= last:
                        if with_grid:
                            grid.add((loc_key, datetime.fromtimestamp(candidate, UTC)))
                        position = bisect_right(busy_ends, candidate)
                        if position == busy_count or busy_starts[position] >= candidate + occupied_s:
                            free[(candidate, loc_key)].append(member_id)
                        candidate += step_s
        day += timedelta(days=1)

    slots = []
    duration = timedelta(seconds=duration_s)
    location_ids = {location.key: location.id for location in locations}
    for (start_s, location_key_), members in sorted(free.items()):
        start = datetime.fromtimestamp(start_s, UTC)
        if hidden.hides(location_ids[location_key_], start):
            continue
        slots.append(Slot(start, start + duration, location_key_, tuple(members)))
    if slots:  # the first slot drops out once now + lead time passes its start
        valid_until = min(valid_until, slots[0].start.timestamp() - lead_s + 1e-6)
    return SlotPlan(slots, grid, dict(load), valid_until=valid_until, calendar_keys=calendar_keys,
                    staff_ids=tuple(staff_ids), version_days=version_days, day_version=day_version,
                    mirror_version=mirror_version)
