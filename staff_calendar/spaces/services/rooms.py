"""Meeting room booking rules.

- A range ``[start, end)`` on the 15-minute grid (site time), the end after the start; what can be
  booked now is ``bookable.room_refusal`` (within the room's hours on one working day that is no
  public holiday or closure, not in the past, within ``horizon_days``); the page offers exactly those times.
- ``attendees`` at most the room's capacity; the room not blocked that day. (Shapes: a title of
  1..200 characters, 1..1000 attendees, aware times: ``schemas.RoomBookingInput``.)
- Busy time = other bookings in the database + citizens' held or confirmed requests
  (``public_busy``) + the room's CalDAV calendar through the mirror
  (``busy_intervals``), so a booking made from a calendar client counts too. Before the lock the
  room's calendar is asked live (``is_free``), the mirror decides on failure.
- No overlap per room: PostgreSQL exclusion constraint + ``locks.room`` (SQLite: BEGIN IMMEDIATE).
  The booking also holds ``locks.person_day`` of the booker for each local day it touches, the lock
  a citizen appointment with that staff member takes (staff key == username), so the two never overlap.
- The booking is written as an opaque event to the booker's calendar and to the room's calendar;
  cancelling removes both. It blocks the booker for citizen appointments from the commit on
  (``staff_calendar.services.booked_seconds``; announced with ``announce_bookings_changed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, localized, site_timezone
from staff_calendar import services as calendar
from staff_calendar.spaces.models import Room, RoomBooking, SpaceBlock
from staff_calendar.spaces.services import bookable
from staff_calendar.spaces.services.bookable import GRID_MINUTES
from staff_calendar.spaces.services.common import (
    Actor,
    SpacesContext,
    closed_reason,
    load_settings,
    local_moment,
    new_uid,
    now,
    own_booking,
    today_local,
    user_calendar_key,
    username_of,
)
from staff_calendar.spaces.services.public_busy import holding_uses, public_label
from staff_calendar.spaces.services.webhook_events import emit_room_event


@dataclass(frozen=True)
class BusyRange:
    start: datetime
    end: datetime
    source: str  # "booking" | "calendar" | "block" | "public" (a citizen's held or confirmed request)
    booking_id: int | None = None
    title: str | None = None


def active_room(key: str) -> Room:
    """A room people can book: active; else NotFound. (The admin pages edit any room: ``admin.any_room``.)"""
    room = db.session.execute(
        select(Room).options(joinedload(Room.floor)).where(Room.key == key)
    ).scalar_one_or_none()
    if room is None or not room.active:
        raise NotFound(_l("Diesen Raum gibt es nicht."))
    return room


def active_rooms() -> list[Room]:
    return list(db.session.execute(
        select(Room).options(joinedload(Room.floor)).where(Room.active.is_(True)).order_by(Room.key)
    ).scalars())


def busy_ranges(room: Room, day: date, *, include_calendar: bool = True) -> list[BusyRange]:
    """Busy time of ``room`` on ``day``: bookings, whole-day blocks and the mirrored calendar."""
    start = local_moment(day, datetime.min.time())
    end = local_moment(day + timedelta(days=1), datetime.min.time())
    ranges = [
        BusyRange(b.start_at, b.end_at, "booking", b.id, b.title)
        for b in db.session.execute(
            select(RoomBooking).where(RoomBooking.room_id == room.id, RoomBooking.start_at < end,
                                      RoomBooking.end_at > start).order_by(RoomBooking.start_at)
        ).scalars()
    ]
    ranges += [BusyRange(use.start_at, use.end_at, "public", None, public_label(request))
               for use, request in holding_uses(room.id, start, end)]
    block = db.session.execute(
        select(SpaceBlock).where(SpaceBlock.room_id == room.id, SpaceBlock.first_day <= day,
                                 SpaceBlock.last_day >= day)
    ).scalars().first()
    if block is not None:
        ranges.append(BusyRange(start, end, "block", title=block.reason))
    if include_calendar and room.calendar_key:
        for busy_start, busy_end in calendar.busy_intervals([room.calendar_key], start, end).get(
                room.calendar_key, []):
            ranges.append(BusyRange(busy_start, busy_end, "calendar"))
    return sorted(ranges, key=lambda r: (r.start, r.end))


def _validate(room: Room, start: datetime, end: datetime, attendees: int) -> None:
    settings = load_settings()
    fields = {}
    local_start, local_end = start.astimezone(site_timezone()), end.astimezone(site_timezone())
    for name, moment in (("start", local_start), ("end", local_end)):
        if moment.minute % GRID_MINUTES or moment.second or moment.microsecond:
            fields[name] = _l("Bitte wählen Sie eine Zeit im Viertelstundentakt.")
    if end <= start:
        fields["end"] = _l("Das Ende muss nach dem Beginn liegen.")
    if attendees > room.capacity:
        fields["attendees"] = _l("Der Raum bietet Platz für höchstens %(capacity)s Personen.",
                                 capacity=room.capacity)
    if fields:
        raise Invalid(fields=fields)
    refusal = bookable.room_refusal(settings, room, start, end, now())
    if refusal is not None:
        raise refusal


def free_ranges(room: Room, day: date, moment: datetime, settings: SpacesContext | None = None,
                busy: list[BusyRange] | None = None) -> list[tuple[datetime, datetime]]:
    """What of ``day`` can still be booked in ``room`` at ``moment``: ``bookable.bookable_ranges``
    without the room's busy time, on the grid."""
    ranges = bookable.bookable_ranges(settings or load_settings(), room, day, moment)
    if not ranges:
        return []
    busy = busy_ranges(room, day) if busy is None else busy
    return bookable.subtract(ranges, [(b.start, b.end) for b in busy])


SUGGESTION_DAYS = 14


def next_free_time(room_key: str, start: datetime, end: datetime, moment: datetime | None = None,
                   ) -> tuple[datetime, datetime] | None:
    """The first time from ``start`` on, at most ``SUGGESTION_DAYS`` days ahead, when ``room_key`` is
    free for as long as ``end - start`` (the room page offers it when the chosen time is taken). The
    same rules as booking: ``free_ranges`` (opening hours, blocks, bookings, the room calendar, the grid)."""
    room, settings = active_room(room_key), load_settings()
    moment = moment or now()
    length = end - start
    first_day = start.astimezone(site_timezone()).date()
    for offset in range(SUGGESTION_DAYS + 1):
        for free_start, free_end in free_ranges(room, first_day + timedelta(days=offset), moment, settings):
            candidate = max(free_start, start)
            if candidate + length <= free_end:
                return candidate, candidate + length
    return None


@dataclass(frozen=True)
class RoomDay:
    """One room on one day as the room page shows it: hours, busy time, what is still free."""

    room: Room
    hours: list[tuple[datetime, datetime]]
    busy: list[BusyRange]
    free: list[tuple[datetime, datetime]]


def room_schedule(rooms: list[Room], day: date, moment: datetime | None = None) -> list[RoomDay]:
    settings = load_settings()
    moment = moment or now()
    schedule = []
    for room in rooms:
        busy = busy_ranges(room, day)
        schedule.append(RoomDay(room, bookable.room_hours(settings, room, day), busy,
                                free_ranges(room, day, moment, settings, busy)))
    return schedule


def room_days(rooms: list[Room], moment: datetime | None = None) -> tuple[list[tuple[date, str | None]], date]:
    """The days of the horizon to choose from on the room page (today only while some room can still
    be booked today) with why each is closed, and the first day on which some room has free time."""
    settings = load_settings()
    moment = moment or now()
    closed = settings.closed_days()
    days = [(day, closed_reason(settings, day, closed=closed)) for day in bookable.horizon(settings, moment)]
    if days and not any(bookable.bookable_ranges(settings, room, days[0][0], moment) for room in rooms):
        days = days[1:]
    open_days = [day for day, reason in days if reason is None]
    first_free = next((day for day in open_days
                       if any(free_ranges(room, day, moment, settings) for room in rooms)), None)
    return days, first_free or (open_days[0] if open_days else today_local(moment))


def book_room(actor: Actor, room_key: str, start: datetime, end: datetime, title: str,
              attendees: int = 1) -> RoomBooking:
    """Book ``room_key`` for ``[start, end)`` (aware times) titled ``title`` for ``attendees`` people."""
    room = active_room(room_key)
    _validate(room, start, end, attendees)
    # remote data first: the room's own calendar, live for this one range (mirror on failure)
    if room.calendar_key:
        check = calendar.is_free(room.calendar_key, start, end)
        if not check.free:
            raise Conflict(_l("Der Raum ist zu dieser Zeit schon belegt."), code="room_taken")
    day = start.astimezone(site_timezone()).date()
    with write_transaction(locks.room(room.id), *_person_days(actor.username, start, end)):
        room = active_room(room_key)
        for busy in busy_ranges(room, day):
            if busy.start < end and start < busy.end:
                if busy.source == "block":
                    raise Conflict(_l("Dieser Raum ist gesperrt: %(reason)s", reason=busy.title), code="blocked")
                raise Conflict(_l("Der Raum ist zu dieser Zeit schon belegt."), code="room_taken")
        booking = RoomBooking(room_id=room.id, user_id=actor.id, start_at=start, end_at=end,
                              title=title.strip(), attendees=attendees, uid=new_uid())
        try:
            with db.session.begin_nested():  # flushed inside the savepoint
                db.session.add(booking)
        except IntegrityError:
            raise Conflict(_l("Der Raum ist zu dieser Zeit schon belegt."), code="room_taken") from None
        for key in _calendar_keys(actor.username, room):
            calendar.schedule_event(calendar_key=key, uid=room_event_uid(booking), transparent=False,
                                    **_event_fields(room, booking, actor.display_name))
        emit_room_event("room_booking.created", booking, room.key, actor.username)
        calendar.announce_bookings_changed([actor.username])
    calendar.request_drain()
    return booking


def _person_days(username: str, start: datetime, end: datetime) -> list[locks.Lock]:
    """``locks.person_day`` of the booker for each local day ``[start, end)`` touches."""
    zone = site_timezone()
    first = start.astimezone(zone).date()
    last = max(first, (end - timedelta(microseconds=1)).astimezone(zone).date())
    return [locks.person_day(username, first + timedelta(days=n)) for n in range((last - first).days + 1)]


def cancel_room_booking(actor: Actor, booking_id: int) -> None:
    """Cancel a room booking (own, or any as admin) until it ends; both calendar events go."""
    booking = own_booking(actor, RoomBooking, booking_id)
    booker = username_of(booking.user_id)
    with write_transaction(locks.room(booking.room_id), *_person_days(booker, booking.start_at, booking.end_at)):
        booking = db.session.get(RoomBooking, booking_id)
        if booking is None:
            raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
        if not cancellable(booking):
            raise Invalid(_l("Vergangene Buchungen können nicht storniert werden."), code="past")
        uid = room_event_uid(booking)
        for key in _calendar_keys(booker, booking.room):
            calendar.schedule_event_removal(calendar_key=key, uid=uid)
        emit_room_event("room_booking.cancelled", booking, booking.room.key, booker)
        db.session.delete(booking)
        calendar.announce_bookings_changed([booker])
    calendar.request_drain()


def cancellable(booking: RoomBooking, moment: datetime | None = None) -> bool:
    """A room booking can be cancelled until it ends (the page offers the button only then)."""
    return booking.end_at > (moment or now())


def my_room_bookings(actor: Actor, start: datetime, end: datetime) -> list[RoomBooking]:
    return list(db.session.execute(
        select(RoomBooking).options(joinedload(RoomBooking.room))
        .where(RoomBooking.user_id == actor.id, RoomBooking.end_at > start, RoomBooking.start_at < end)
        .order_by(RoomBooking.start_at)
    ).scalars())


def room_event_uid(booking: RoomBooking) -> str:
    return calendar.event_uid("room", booking.uid)


def _calendar_keys(username: str, room: Room) -> list[str]:
    keys = []
    own = user_calendar_key(username)
    if own:
        keys.append(own)
    if room.calendar_key:
        keys.append(room.calendar_key)
    return keys


def room_address(room: Room) -> str:
    """The room's calendar address (the Graph room mailbox and the ``ATTENDEE;CUTYPE=ROOM`` of its events)."""
    return f"raum-{room.key}@{current_app.config['EVENT_UID_DOMAIN']}"


def _event_fields(room: Room, booking: RoomBooking, booker: str) -> dict:
    """The calendar fields of a room booking; the description lists only the parts that exist (no
    dangling separator when the booker is not named, as in the personal feed)."""
    name = localized(room.name, room.key)
    people = f"{booking.attendees} Person" if booking.attendees == 1 else f"{booking.attendees} Personen"
    return {
        "summary": booking.title,
        "start": booking.start_at,
        "end": booking.end_at,
        "location": name,
        "description": ", ".join(part for part in (f"Raumbuchung: {name}", people, booker) if part),
        "room": {"name": name, "address": room_address(room)},
    }


def feed_events(user_id: int, since: datetime) -> list[dict]:
    events = []
    for booking in db.session.execute(
        select(RoomBooking).options(joinedload(RoomBooking.room))
        .where(RoomBooking.user_id == user_id, RoomBooking.end_at >= since)
    ).scalars():
        events.append({"uid": room_event_uid(booking), "sequence": 0, "transparent": False,
                       "stamp": booking.created_at, **_event_fields(booking.room, booking, "")})
    return events
