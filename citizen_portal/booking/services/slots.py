"""The slot engine: which times of a service can be booked, and by which staff members.

Rules (each has its own test in ``tests/citizen_portal/booking/test_slots.py``):

- A staff member is *qualified* when active, serving the service (``staff_services``) and working
  at the location (``staff_locations``), and the service is offered at the location.
- Working time on a local day = the location's opening hours ∩ the staff member's working hours
  (empty/None working hours = the opening hours). Closed on the location's ``closures`` and on the
  public holidays of the site's Bundesland (``holidays`` package, ``SiteSettings.holidays``).
- Candidates start on a grid: from the start of each working interval every
  ``settings["booking"]["slot_step_minutes"]`` (default: duration + buffer) minutes, and the whole
  ``[start, start + duration + buffer)`` must fit into the interval.
- A candidate is free for a staff member when ``[start, start + duration + buffer)`` overlaps none of:
  mirrored busy time (``staff_calendar.services.busy_seconds``, one call for all staff),
  active appointments (``[start_at, blocked_until)``; a pending one only while its hold lives),
  and appointments cancelled less than ``cancelled_slot_delay_minutes`` ago (against slot trading).
- Lead time: start >= now + ``min_lead_hours``; horizon: local day <= today + ``horizon_days``.
- A time is offered once per location even when several staff members are free; the result keeps
  the free staff ids for the fair choice in ``appointments.book``.
- Times are computed in the site zone: opening hours are wall-clock times of the local day,
  converted to UTC per day, so DST days (2026-03-29, 2026-10-25 in Europe/Berlin) are right.

Everything is loaded in bulk (a fixed number of queries for any range) and computed in memory in
integer POSIX seconds; no CalDAV request happens here. ``find_slots`` (API, citizen pages) is served
from a per-process cache validated by one small statement per request (``services/cache.py``); the
booking path (``plan`` from ``appointments``) always computes afresh.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from citizen_portal.booking.models import ACTIVE_STATUSES, CANCELLED, PENDING, Appointment
from citizen_portal.booking.services import cache as slot_cache_module
from citizen_portal.errors import Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l, site_timezone
from citizen_portal.models import Location, Service, SiteSettings, StaffMember
from staff_calendar import services as calendar_services

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_RANGE_DAYS = 62
DEFAULT_BOOKING_SETTINGS = {
    "hold_minutes": 15,
    "reminder_hours": 24,
    "erase_after_days": 30,
    "cancelled_slot_delay_minutes": 60,
    "event_details": "service_and_code",
}

Interval = tuple[datetime, datetime]


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
class DayPlan:
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


def booking_settings() -> dict:
    """``SiteSettings.settings["booking"]`` merged over the defaults."""
    return _site_inputs()[0]


def _site_inputs() -> tuple[dict, str | None]:
    """(``booking_settings()``, the site's Bundesland for holidays) in one query."""
    row = db.session.execute(select(SiteSettings.settings, SiteSettings.holidays).limit(1)).first()
    merged = dict(DEFAULT_BOOKING_SETTINGS)
    if row is not None:
        merged.update((row.settings or {}).get("booking") or {})
    return merged, (row.holidays if row is not None else None)


def holiday_region() -> str | None:
    return _site_inputs()[1]


@lru_cache(maxsize=64)
def _holidays(subdiv: str | None, year: int) -> frozenset[date]:
    if not subdiv:
        return frozenset(holidays_lib.country_holidays("DE", years=year).keys())
    return frozenset(holidays_lib.country_holidays("DE", subdiv=subdiv, years=year).keys())


def is_holiday(day: date, subdiv: str | None) -> bool:
    return day in _holidays(subdiv, day.year)


def _parse_ranges(ranges: list[str] | None) -> list[tuple[time, time]]:
    return list(_parse_ranges_cached(tuple(ranges or ())))


@lru_cache(maxsize=1024)
def _parse_ranges_cached(ranges: tuple[str, ...]) -> tuple[tuple[time, time], ...]:
    parsed = []
    for item in ranges or []:
        start_text, _, end_text = item.partition("-")
        start = time.fromisoformat(start_text.strip())
        end_raw = end_text.strip()
        end = time.max if end_raw in {"24:00", "24:00:00"} else time.fromisoformat(end_raw)
        if end > start:
            parsed.append((start, end))
    return tuple(parsed)


def _local_to_utc(day: date, moment: time, zone: ZoneInfo) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _intersect(first: list[tuple[time, time]], second: list[tuple[time, time]]) -> list[tuple[time, time]]:
    result = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                result.append((start, end))
    return sorted(result)


def working_intervals(location: Location, staff: StaffMember, day: date, zone: ZoneInfo) -> list[Interval]:
    """UTC intervals in which ``staff`` works at ``location`` on the local ``day`` (closures and
    holidays are checked by the caller)."""
    return [(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC))
            for a, b in _working_seconds(location.opening_hours, staff.working_hours, day, zone)]


def _working_seconds(opening_hours: dict | None, working_hours: dict | None, day: date,
                     zone: ZoneInfo) -> tuple[tuple[int, int], ...]:
    weekday = WEEKDAYS[day.weekday()]
    opening = tuple((opening_hours or {}).get(weekday) or ())
    own = tuple(working_hours.get(weekday) or ()) if working_hours else None
    return _working_seconds_cached(opening, own, day, zone)


@lru_cache(maxsize=8192)
def _working_seconds_cached(opening: tuple[str, ...], own: tuple[str, ...] | None, day: date,
                            zone: ZoneInfo) -> tuple[tuple[int, int], ...]:
    """POSIX-second intervals of opening hours (∩ own working hours) on a local day; wall-clock
    times are converted per day, so DST days are right."""
    ranges = _parse_ranges(list(opening))
    if own is not None:
        ranges = _intersect(ranges, _parse_ranges(list(own)))
    return tuple((int(_local_to_utc(day, a, zone).timestamp()), int(_local_to_utc(day, b, zone).timestamp()))
                 for a, b in ranges)


class _Blocked:
    """Sorted, merged busy intervals of one staff member (POSIX seconds) with an O(log n) overlap
    test: ``[start, end)`` is free when it only touches busy time."""

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

    def overlaps(self, start: int, end: int) -> bool:
        index = bisect_right(self.ends, start)  # first busy interval ending after ``start``
        return index < len(self.starts) and self.starts[index] < end


def load_service(service_key: str) -> Service:
    service = db.session.scalars(
        select(Service).where(Service.key == service_key).options(selectinload(Service.locations))
    ).first()
    if service is None or not service.active:
        raise NotFound(_l("Diese Dienstleistung gibt es nicht."))
    return service


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
) -> DayPlan:
    """Compute free slots of ``service`` on the local days ``first_day``..``last_day`` (inclusive).

    ``ignore_appointment_id``: an appointment being moved does not block itself. ``with_grid``:
    also return every grid start (for telling "not a bookable time" from "taken").
    ``with_validity``: also fill ``valid_until``, ``calendar_keys``, ``mirror_version`` (read before
    the busy time) for the slot cache.

    Fixed number of queries: settings, staff (+ their locations), appointments, mirror (+ its
    version). Computed in integer POSIX seconds; datetimes only for the resulting slots."""
    zone = site_timezone()
    settings, region = _site_inputs()
    locations = [loc for loc in service.locations if loc.active]
    if location_key is not None:
        locations = [loc for loc in locations if loc.key == location_key]
    staff_by_location = qualified_staff(service, locations)
    staff_ids = sorted({member.id for members in staff_by_location.values() for member in members})

    duration_s = service.duration_minutes * 60
    occupied_s = duration_s + service.buffer_minutes * 60
    step_s = int(settings.get("slot_step_minutes") or occupied_s // 60) * 60
    lead_s = service.min_lead_hours * 3600
    now_s = now.timestamp()
    earliest_s = now_s + lead_s
    today = now.astimezone(zone).date()
    next_midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).timestamp()
    last_day = min(last_day, today + timedelta(days=service.horizon_days))
    first_day = max(first_day, today)
    if not staff_ids or last_day < first_day:
        return DayPlan([], set(), {}, valid_until=next_midnight)

    range_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    cancel_delay_s = int(settings.get("cancelled_slot_delay_minutes") or 0) * 60
    valid_until = next_midnight  # the result holds while now < valid_until (and no input changes)

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
        if row.id == ignore_appointment_id:
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
        for member_id, key in calendar_of.items():
            blocked[member_id].extend(busy.get(key, ()))
    blocked_index = {member_id: _Blocked(blocked.get(member_id, [])) for member_id in staff_ids}

    free: dict[tuple[int, str], list[int]] = defaultdict(list)
    grid: set[tuple[str, datetime]] = set()
    closures = {location.id: set(location.closures or []) for location in locations}
    day = first_day
    while day <= last_day:
        holiday = is_holiday(day, region)
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
                for start, end in _working_seconds(opening_hours, member.working_hours, day, zone):
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
    for (start_s, location_key_), members in sorted(free.items()):
        start = datetime.fromtimestamp(start_s, UTC)
        slots.append(Slot(start, start + duration, location_key_, tuple(members)))
    if slots:  # the first slot drops out once now + lead time passes its start
        valid_until = min(valid_until, slots[0].start.timestamp() - lead_s + 1e-6)
    return DayPlan(slots, grid, dict(load), valid_until=valid_until, calendar_keys=calendar_keys,
                   mirror_version=mirror_version)


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise Invalid(_l("Das Ende liegt vor dem Anfang."), fields={"to": _l("Das Ende liegt vor dem Anfang.")})
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        message = _l("Höchstens 62 Tage auf einmal.")
        raise Invalid(message, fields={"to": message})


def _cached_plan(service_key: str, first_day: date, last_day: date, location_key: str | None,
                 now: datetime) -> slot_cache_module.Entry:
    """The cache entry for these arguments: a valid cached one, else a fresh computation (see
    ``services/cache.py`` for when an entry is valid)."""
    _check_range(first_day, last_day)
    cache = slot_cache_module.slot_cache()
    key = (service_key, location_key, first_day, last_day)
    entry = cache.get(key)
    valid, token = slot_cache_module.check(entry, now)  # read before any data: later changes are seen next time
    if valid:
        cache.hits += 1
        return entry
    cache.misses += 1
    service = load_service(service_key)
    if location_key is not None and location_key not in {loc.key for loc in service.locations if loc.active}:
        raise NotFound(_l("Diese Dienstleistung wird an diesem Standort nicht angeboten."))
    result = plan(service, first_day, last_day, now=now, location_key=location_key, with_validity=True)
    entry = slot_cache_module.Entry(
        token=token, computed_at=now.timestamp(), valid_until=result.valid_until,
        calendar_keys=result.calendar_keys, mirror_version=result.mirror_version, value=result.slots,
    )
    if token:
        cache.put(key, entry)
    return entry


def find_slots(
    service_key: str,
    first_day: date,
    last_day: date,
    *,
    location_key: str | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots of a service from ``first_day`` to ``last_day`` (local days, inclusive), sorted
    by start then location. Raises ``NotFound`` for an unknown/inactive service or a location
    that does not offer it, ``Invalid`` for a reversed range or one longer than 62 days.

    Served from the per-process slot cache when nothing it depends on has changed (two small
    queries); otherwise computed by ``plan``."""
    now = now or datetime.now(UTC)
    return list(_cached_plan(service_key, first_day, last_day, location_key, now).value)


def slots_json(
    service_key: str,
    first_day: date,
    last_day: date,
    *,
    location_key: str | None = None,
    now: datetime | None = None,
) -> str:
    """``find_slots`` as the API's JSON body ``{"slots": [{"start", "end", "location"}]}`` (RFC 3339
    in the site zone), serialised once per cache entry."""
    now = now or datetime.now(UTC)
    entry = _cached_plan(service_key, first_day, last_day, location_key, now)
    body = entry.extras.get("json")
    if body is None:
        zone = site_timezone()
        body = current_app.json.dumps({"slots": [slot.to_json(zone) for slot in entry.value]})
        entry.extras["json"] = body
    return body


def days_with_slots(
    service_key: str, first_day: date, last_day: date, *, location_key: str | None = None,
    now: datetime | None = None,
) -> dict[date, int]:
    """Number of free times per local day (for the citizen's day list / month grid)."""
    zone = site_timezone()
    counts: dict[date, int] = defaultdict(int)
    for slot in find_slots(service_key, first_day, last_day, location_key=location_key, now=now):
        counts[slot.start.astimezone(zone).date()] += 1
    return dict(sorted(counts.items()))


ALTERNATIVE_WINDOWS = (1, 7, 21, MAX_RANGE_DAYS)  # days searched, growing until enough are found


def next_free_slots(
    service: Service, after: datetime, *, now: datetime, location_key: str | None = None, limit: int = 5,
) -> list[Slot]:
    """The next ``limit`` free slots from ``after`` on (within 62 days of its local day): searched
    in growing windows (the requested day, then a week, three weeks, 62 days) and stopped as soon
    as ``limit`` are found, so a 409 usually costs a one-day computation."""
    zone = site_timezone()
    first = max(after, now).astimezone(zone).date()
    searched_until = first - timedelta(days=1)
    found: list[Slot] = []
    for days in ALTERNATIVE_WINDOWS:
        last = first + timedelta(days=days - 1)
        result = plan(service, searched_until + timedelta(days=1), last, now=now, location_key=location_key)
        found += [slot for slot in result.slots if slot.start >= after]
        searched_until = last
        if len(found) >= limit:
            break
    return found[:limit]


def list_services() -> list[Service]:
    """Active services that are offered at one active location at least, ordered by key, with
    ``locations`` loaded (callers filter ``location.active``)."""
    services = db.session.scalars(
        select(Service).where(Service.active.is_(True)).options(selectinload(Service.locations)).order_by(Service.key)
    ).all()
    return [service for service in services if any(location.active for location in service.locations)]
