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

Everything is loaded in bulk (a fixed number of queries for any range, ``slot_inputs``: plain Core
rows, statements built once) and computed in memory in integer POSIX seconds: the free starts of a
staff member are found by walking the gaps between her merged blocked intervals; no CalDAV request
happens here, and the mirrored busy time comes from the mirror's per-process index (validated by
each calendar's sync version on every call, ``staff_calendar/calendars/busy_read.py``). ``plan`` is
called directly by the booking path (``appointments``, ``manage``: always afresh) and through the
slot cache by ``slots``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from citizen_portal.booking.fairness.hooks import FairPass, withheld
from citizen_portal.booking.models import Location, Service
from citizen_portal.booking.services import cache as slot_cache
from citizen_portal.booking.services import slot_inputs
from citizen_portal.booking.services.slot_inputs import UNKNOWN_AFTER_END  # noqa: F401 (part of the engine's API)
from citizen_portal.booking.services.working_hours import working_seconds
from citizen_portal.booking.settings import BookingSettings
from citizen_portal.core.calendar_days import is_public_holiday
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone


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
    return slot_inputs.site_inputs()[0]


def longest_horizon_days() -> int:
    """The furthest any active service can be booked (days after today); 0 without services. The
    busy-time mirror covers at least this far (registered in ``booking/jobs.py``)."""
    return db.session.scalar(select(func.max(Service.horizon_days)).where(Service.active.is_(True))) or 0


def load_service(service_key: str) -> Service:
    """The active service ``service_key`` with its locations (one statement); ``NotFound`` otherwise."""
    service = db.session.scalars(
        select(Service).where(Service.key == service_key).options(joinedload(Service.locations))
    ).unique().one_or_none()
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

    Fixed number of queries: staff with the site settings, the cache versions (``with_validity``),
    appointments, room bookings, mirror (sync versions, rarely busy rows, coverage), and the times
    fair access withholds (``fairness.hooks.withheld``:
    reserved for waiting-list offers, days not yet released; ``fair_pass`` lets an offer or the lottery
    through). Computed in integer POSIX seconds; datetimes only for the resulting slots."""
    zone = site_timezone()
    locations = [loc for loc in service.locations if loc.active]
    if location_key is not None:
        locations = [loc for loc in locations if loc.key == location_key]
    staff_by_location, settings, region = slot_inputs.staff_and_site(service, locations)
    members = list({member.id: member for located in staff_by_location.values() for member in located}.values())
    staff_ids = sorted(member.id for member in members)

    duration_s = service.duration_minutes * 60
    occupied_s = duration_s + service.buffer_minutes * 60
    step_s = int(settings.slot_step_minutes or occupied_s // 60) * 60
    lead_s = service.min_lead_hours * 3600
    earliest_s = now.timestamp() + lead_s
    today = now.astimezone(zone).date()
    next_midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).timestamp()
    last_day = min(last_day, today + timedelta(days=service.horizon_days))
    first_day = max(first_day, today)
    if not staff_ids or last_day < first_day:
        return SlotPlan([], set(), {}, valid_until=next_midnight)

    range_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    hidden = withheld(service, first_day, last_day, today, fair_pass)
    calendar_keys = tuple(sorted({member.calendar_key for member in members if member.calendar_key}))
    version_days, day_version, mirror_version = None, 0, ""
    if with_validity:  # before the data: a change after this read is caught by the next check
        version_days = (slot_cache.version_day(range_start), slot_cache.version_day(range_end - timedelta(seconds=1)))
        day_version, mirror_version = slot_inputs.versions(staff_ids, version_days, calendar_keys)
    # the result holds while now < valid_until (and no input changes)
    taken = slot_inputs.appointments(
        staff_ids, range_start, range_end, now=now, cancel_delay_s=settings.cancelled_slot_delay_minutes * 60,
        zone=zone, valid_until=next_midnight, ignore_appointment_id=ignore_appointment_id,
        freed_start=hidden.freed_start)
    valid_until = taken.valid_until
    slot_inputs.calendar_blocked(members, taken.blocked, range_start, range_end)
    blocked_index = {member_id: slot_inputs.merged(taken.blocked.get(member_id, [])) for member_id in staff_ids}

    free: dict[str, defaultdict[int, list[int]]] = {location.key: defaultdict(list) for location in locations}
    grid_starts: set[tuple[str, int]] = set()
    closures = {location.id: set(location.closures or []) for location in locations}
    day = first_day
    while day <= last_day:
        holiday = is_public_holiday(day, region)
        day_text = day.isoformat()
        for location in locations:
            if holiday or day_text in closures[location.id]:
                continue
            loc_key, opening_hours, shared = location.key, location.opening_hours, None
            for member in staff_by_location.get(location.id, ()):
                if member.working_hours:
                    windows = working_seconds(opening_hours, member.working_hours, day, zone)
                else:  # the opening hours: the same for every such member at this location and day
                    if shared is None:
                        shared = working_seconds(opening_hours, None, day, zone)
                    windows = shared
                busy = blocked_index[member.id]
                for start, end in windows:
                    candidate, last = start, end - occupied_s
                    if candidate < earliest_s:  # first grid point at or after the lead time
                        candidate = int(candidate + -(-(earliest_s - candidate) // step_s) * step_s)
                    if candidate > last:
                        continue
                    if with_grid:
                        grid_starts.update((loc_key, grid_start) for grid_start in range(candidate, last + 1, step_s))
                    _free_starts(free[loc_key], member.id, busy, candidate, last, step_s, occupied_s)
        day += timedelta(days=1)

    slots = []
    duration = timedelta(seconds=duration_s)
    location_ids = {location.key: location.id for location in locations}
    may_hide = bool(hidden.times or hidden.days)
    for start_s, location_key_, free_staff in sorted((start_s, location_key_, free_staff)
                                                    for location_key_, starts in free.items()
                                                    for start_s, free_staff in starts.items()):
        start = datetime.fromtimestamp(start_s, UTC)
        if may_hide and hidden.hides(location_ids[location_key_], start):
            continue
        slots.append(Slot(start, start + duration, location_key_, tuple(free_staff)))
    if slots:  # the first slot drops out once now + lead time passes its start
        valid_until = min(valid_until, slots[0].start.timestamp() - lead_s + 1e-6)
    grid = {(loc_key, datetime.fromtimestamp(grid_start, UTC)) for loc_key, grid_start in grid_starts}
    return SlotPlan(slots, grid, taken.load, valid_until=valid_until, calendar_keys=calendar_keys,
                    staff_ids=tuple(staff_ids), version_days=version_days, day_version=day_version,
                    mirror_version=mirror_version)


def _free_starts(free: defaultdict[int, list[int]], member_id: int, busy: slot_inputs.Blocked,
                 candidate: int, last: int, step_s: int, occupied_s: int) -> None:
    """Append ``member_id`` to ``free[start]`` for every grid start ``candidate``,
    ``candidate + step_s``, ... ``<= last`` whose ``[start, start + occupied_s)`` overlaps none of her
    ``busy`` intervals (it may touch them). Walks the gaps between busy intervals, not the starts."""
    starts, ends = busy
    count = len(starts)
    position = bisect_right(ends, candidate)  # the first busy interval ending after the candidate
    while candidate <= last:
        while position < count and ends[position] <= candidate:
            position += 1
        if position == count or starts[position] >= candidate + occupied_s:
            # free up to the last start that ends by the next busy interval
            stop = last if position == count else min(last, starts[position] - occupied_s)
            for start in range(candidate, stop + 1, step_s):
                free[start].append(member_id)
            candidate += ((stop - candidate) // step_s + 1) * step_s
        else:  # busy: the first grid start at or after the busy interval's end
            candidate += -(-(ends[position] - candidate) // step_s) * step_s
