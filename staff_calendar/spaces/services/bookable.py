"""What can be booked now: the one rule for desks and rooms that the pages, the JSON API and the
booking services share, so a page never offers what a service refuses.

Desks, per half day (``morning``/``afternoon``, local times from the site's spaces settings):
- the day lies in ``[today, today + horizon_days)`` (a series: ``series_horizon_days``);
- it is a working day that is no public holiday of the site's Bundesland and no closure;
- the half day is not over: its end lies after now (a half day that has begun can still be booked);
  the whole day needs both halves.

Rooms, a range ``[start, end)`` on the 15-minute grid of local time:
- the start is not before now (the earliest start offered is now rounded up to the grid);
- the day lies before ``today + horizon_days``;
- the range lies inside one of the room's hours on that day (none on closed days).

Every function takes the moment to judge at (``moment``, aware UTC, usually ``common.now()``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar.spaces.models import HALVES, Room
from staff_calendar.spaces.services.common import (
    DEFAULT_ROOM_HOURS,
    SpacesContext,
    closed_reason,
    local_moment,
    parse_range,
    today_local,
)

GRID_MINUTES = 15
GRID = timedelta(minutes=GRID_MINUTES)

Ranges = list[tuple[datetime, datetime]]


def horizon(settings: SpacesContext, moment: datetime) -> list[date]:
    """The days that may be booked at all (single bookings): today and the next ``horizon_days - 1``."""
    today = today_local(moment)
    return [today + timedelta(days=n) for n in range(settings.horizon_days)]


# --- desks ---------------------------------------------------------------------------------------

def half_over(settings: SpacesContext, day: date, half: str, moment: datetime) -> bool:
    return local_moment(day, settings.half_range(half)[1]) <= moment


def desk_refusal(settings: SpacesContext, day: date, halves: tuple[str, ...], moment: datetime, *,
                 series: bool = False, closed: set[date] | None = None) -> Invalid | None:
    """Why ``halves`` of ``day`` cannot be booked at ``moment`` (the first reason), or None."""
    today = today_local(moment)
    days = settings.series_horizon_days if series else settings.horizon_days
    if day < today:
        message = _l("Dieser Tag liegt in der Vergangenheit.")
        return Invalid(message, fields={"date": message}, code="past")
    if day >= today + timedelta(days=days):
        message = _l("Sie können höchstens %(days)s Tage im Voraus buchen.", days=days)
        return Invalid(message, fields={"date": message}, code="beyond_horizon")
    reason = closed_reason(settings, day, closed=closed)
    if reason:
        message = _l("An diesem Tag kann nicht gebucht werden: %(reason)s.", reason=reason)
        return Invalid(message, fields={"date": message}, code="closed")
    if any(half_over(settings, day, half, moment) for half in halves):
        message = _l("Dieser Halbtag ist schon vorbei.")
        return Invalid(message, fields={"part": message}, code="past")
    return None


def bookable_halves(settings: SpacesContext, day: date, moment: datetime, *,
                    closed: set[date] | None = None) -> tuple[str, ...]:
    """The halves of ``day`` a single booking may take at ``moment``."""
    return tuple(half for half in HALVES
                 if desk_refusal(settings, day, (half,), moment, closed=closed) is None)


def desk_days(settings: SpacesContext, moment: datetime) -> list[tuple[date, str | None, tuple[str, ...]]]:
    """The days to choose from: (day, why it is closed or None, its bookable halves). Today is left
    out once nothing of it can be booked any more."""
    closed = settings.closed_days()
    days = [(day, closed_reason(settings, day, closed=closed), bookable_halves(settings, day, moment, closed=closed))
            for day in horizon(settings, moment)]
    if days and days[0][1] is None and not days[0][2]:
        days = days[1:]
    return days


# --- rooms ---------------------------------------------------------------------------------------

def room_hours(settings: SpacesContext, room: Room, day: date) -> Ranges:
    """The room's hours on ``day`` (aware UTC); none on closed days."""
    if room.opening_hours:
        texts = room.opening_hours.get(WEEKDAYS[day.weekday()]) or []
    else:
        texts = DEFAULT_ROOM_HOURS if day.weekday() < 5 else []
    if closed_reason(settings, day):
        return []
    result = []
    for text in texts:
        first, last = parse_range(text)
        result.append((local_moment(day, first), local_moment(day, last)))
    return result


def grid_ceil(moment: datetime) -> datetime:
    """The first grid time (local wall clock) at or after ``moment``, as aware UTC."""
    local = moment.astimezone(site_timezone())
    floor = local.replace(minute=local.minute - local.minute % GRID_MINUTES, second=0, microsecond=0)
    return (floor if floor == local else floor + GRID).astimezone(UTC)


def grid_floor(moment: datetime) -> datetime:
    local = moment.astimezone(site_timezone())
    return local.replace(minute=local.minute - local.minute % GRID_MINUTES, second=0,
                         microsecond=0).astimezone(UTC)


def bookable_ranges(settings: SpacesContext, room: Room, day: date, moment: datetime) -> Ranges:
    """The parts of the room's hours on ``day`` in which a booking may lie at ``moment`` (busy time
    not taken into account): within the horizon, from now rounded up to the grid on."""
    if day >= today_local(moment) + timedelta(days=settings.horizon_days):
        return []
    earliest = grid_ceil(moment)
    return [(max(first, earliest), last) for first, last in room_hours(settings, room, day)
            if last - max(first, earliest) >= GRID]


def room_refusal(settings: SpacesContext, room: Room, start: datetime, end: datetime,
                 moment: datetime) -> Invalid | None:
    """Why ``[start, end)`` (on the grid, start before end) cannot be booked at ``moment``, or None."""
    day = start.astimezone(site_timezone()).date()
    if any(first <= start and end <= last for first, last in bookable_ranges(settings, room, day, moment)):
        return None
    if start < moment:
        message = _l("Dieser Zeitraum liegt in der Vergangenheit.")
        return Invalid(message, fields={"start": message}, code="past")
    if day >= today_local(moment) + timedelta(days=settings.horizon_days):
        message = _l("Sie können höchstens %(days)s Tage im Voraus buchen.", days=settings.horizon_days)
        return Invalid(message, fields={"date": message}, code="beyond_horizon")
    message = _l("Der Raum ist zu dieser Zeit nicht buchbar (Öffnungszeiten, Feiertage, Schließtage).")
    return Invalid(message, fields={"start": message}, code="outside_hours")


def subtract(ranges: Ranges, busy: Ranges) -> Ranges:
    """``ranges`` without ``busy``, each piece shrunk to the grid; pieces shorter than one step go."""
    pieces = list(ranges)
    for busy_start, busy_end in busy:
        next_pieces = []
        for first, last in pieces:
            if busy_end <= first or last <= busy_start:
                next_pieces.append((first, last))
                continue
            if first < busy_start:
                next_pieces.append((first, busy_start))
            if busy_end < last:
                next_pieces.append((busy_end, last))
        pieces = next_pieces
    result = []
    for first, last in pieces:
        first, last = grid_ceil(first), grid_floor(last)
        if last - first >= GRID:
            result.append((first, last))
    return result


def time_choices(free: list[Ranges], default_start: time = time(9, 0)) -> tuple[list[str], list[str], str, str]:
    """Start and end times (``HH:MM``, local) for the room form from the free ranges of each room:
    a start is offered when some room is free for the next step, an end when some room is free for
    the step before it. Also the preselected start (``default_start`` when offered, else the first)
    and end (one hour later when offered, else the first end after the start)."""
    zone = site_timezone()
    starts: set[datetime] = set()
    ends: set[datetime] = set()
    for ranges in free:
        for first, last in ranges:
            moment = first
            while moment + GRID <= last:
                starts.add(moment.astimezone(zone))
                ends.add((moment + GRID).astimezone(zone))
                moment += GRID
    start_texts = [moment.strftime("%H:%M") for moment in sorted(starts)]
    end_texts = [moment.strftime("%H:%M") for moment in sorted(ends)]
    wanted = default_start.strftime("%H:%M")
    start = wanted if wanted in start_texts else (start_texts[0] if start_texts else "")
    one_hour_later = (datetime.combine(date(2000, 1, 1), time.fromisoformat(start or "00:00"))
                      + timedelta(hours=1)).strftime("%H:%M")
    end = one_hour_later if one_hour_later in end_texts else next((t for t in end_texts if t > start), "")
    return start_texts, end_texts, start, end
