"""Rooms for citizens and associations: the public catalogue and what may be requested when.

Rules (one place, used by the pages, the JSON API and ``public_requests`` alike):
- a room is public when the site file gives it a ``public`` table and it and its floor are active;
- a range ``[start, end)`` on the 15-minute grid of local time may be requested when it lies inside
  the room's public ``hours`` of that weekday (staff hours stay staff-only), the day is no public
  holiday of the site's Bundesland, no site closure and no blackout date of the room, the room is
  not blocked that day, the start is not before now and the day lies before ``today +
  public_horizon_days``;
- the availability shows "belegt" for busy time (staff bookings, held and confirmed requests, the
  room's calendar) without names; an organisation is shown only when it chose to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from citizen_portal.core import calendar_days
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar.spaces.models import Floor, Room
from staff_calendar.spaces.services import bookable
from staff_calendar.spaces.services.bookable import GRID
from staff_calendar.spaces.services.common import SpacesContext, local_moment, parse_range, today_local
from staff_calendar.spaces.services.rooms import BusyRange, busy_ranges

Ranges = list[tuple[datetime, datetime]]


def public_rooms() -> list[Room]:
    """The rooms the public may request, by key."""
    return [room for room in db.session.scalars(
        select(Room).options(joinedload(Room.floor)).join(Floor)
        .where(Room.active.is_(True), Floor.active.is_(True), Room.public.is_not(None)).order_by(Room.key))
        if room.public]


def public_room(key: str) -> Room:
    """A public room by key, else NotFound (a staff-only room is not found either)."""
    for room in public_rooms():
        if room.key == key:
            return room
    raise NotFound(_l("Diesen Raum gibt es nicht."))


def closed_reason(settings: SpacesContext, room: Room, day: date):
    """Why ``room`` cannot be requested on ``day`` at all (holiday, closure, blackout), or None."""
    if calendar_days.is_public_holiday(day, settings.bundesland):
        return _l("Feiertag")
    if day in settings.closed_days() or day.isoformat() in (room.public or {}).get("blackout_dates", []):
        return _l("Geschlossen")
    return None


def public_hours(settings: SpacesContext, room: Room, day: date) -> Ranges:
    """The room's public hours on ``day`` as aware UTC ranges (none on closed days)."""
    if not room.public or closed_reason(settings, room, day) is not None:
        return []
    texts = room.public.get("hours", {}).get(calendar_days.weekday_key(day), [])
    ranges = []
    for text in texts:
        first, last = parse_range(text)
        ranges.append((local_moment(day, first), local_moment(day, last)))
    return ranges


def last_day(settings: SpacesContext, moment: datetime) -> date:
    """The last day a request (a series too) may reach."""
    return today_local(moment) + timedelta(days=settings["public_horizon_days"] - 1)


def refusal(settings: SpacesContext, room: Room, start: datetime, end: datetime, moment: datetime) -> Invalid | None:
    """Why ``[start, end)`` cannot be requested in ``room`` at ``moment`` (shape and calendar, not busy
    time), or None."""
    zone = site_timezone()
    day = start.astimezone(zone).date()
    if start < moment:
        return Invalid(_l("Dieser Termin liegt in der Vergangenheit."), code="past")
    if day > last_day(settings, moment):
        return Invalid(_l("Sie können höchstens %(days)s Tage im Voraus anfragen.",
                          days=settings["public_horizon_days"]), code="beyond_horizon")
    reason = closed_reason(settings, room, day)
    if reason is not None:
        return Invalid(_l("An diesem Tag ist der Raum nicht zu vergeben: %(reason)s.", reason=reason), code="closed")
    if not any(first <= start and end <= last for first, last in public_hours(settings, room, day)):
        return Invalid(_l("Zu dieser Zeit ist der Raum nicht für die Öffentlichkeit buchbar."), code="outside_hours")
    return None


def conflict_of(busy: list[BusyRange], start: datetime, end: datetime) -> BusyRange | None:
    return next((item for item in busy if item.start < end and start < item.end), None)


def series_dates(first: date, until: date | None) -> list[date]:
    """A single date, or every week from ``first`` up to and including ``until``."""
    if until is None or until < first:
        return [first]
    return [first + timedelta(weeks=n) for n in range((until - first).days // 7 + 1)]


def on_day(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    return local_moment(day, start), local_moment(day, end)


@dataclass(frozen=True)
class DayAvailability:
    """One day of a public room's week: its public hours, what is taken ("belegt", an organisation
    only when shown) and what is free, or why it is closed."""

    day: date
    closed: str | None
    hours: Ranges
    taken: list[tuple[datetime, datetime, str | None]]
    free: Ranges


def week(settings: SpacesContext, room: Room, monday: date, moment: datetime) -> list[DayAvailability]:
    """The seven days from ``monday``; free time only where a request would be accepted now."""
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        reason = closed_reason(settings, room, day)
        hours = public_hours(settings, room, day)
        busy = busy_ranges(room, day) if hours else []
        taken = [(item.start, item.end, item.title if item.source == "public" else None)
                 for item in busy if any(item.start < last and first < item.end for first, last in hours)]
        open_hours = [(max(first, bookable.grid_ceil(moment)), last) for first, last in hours
                      if day <= last_day(settings, moment)]
        free = bookable.subtract([(a, b) for a, b in open_hours if b - a >= GRID],
                                 [(item.start, item.end) for item in busy])
        days.append(DayAvailability(day, str(reason) if reason else None, hours, taken, free))
    return days
