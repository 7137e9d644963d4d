"""Desk booking rules (booking, series, cancelling, check-in); reading desk data is in
``desk_availability``, calendar events in ``desk_calendar`` (both re-exported here).

- A desk is booked per half day (``morning``/``afternoon``); ``day`` books both halves, which then
  share one calendar event (``group_uid``).
- What can be booked now is ``bookable.desk_refusal`` (the pages offer exactly that): working days
  that are no public holiday of the site's Bundesland and no site closure, from today up to
  ``horizon_days`` ahead (series: ``series_horizon_days``), half days that are not over yet.
  A blocked or inactive desk cannot be booked.
- One desk per person per half day; one person per desk and half day (database constraints).
- Per person and ISO week at most ``desk_days_per_week`` desk days, **a half day counting 0.5**;
  the limit of the floor being booked applies (``Floor.desk_days_per_week``, else the site's) and
  counts the person's bookings on every floor.
- Every booking is written to the booker's calendar ``staff:<username>`` as a TRANSPARENT event
  (it never blocks citizen appointments); cancelling removes or shrinks it.
- Locks: a booking holds ``locks.desk_day`` of its desk and day and ``locks.desk_user`` of the booker
  (the weekly limit); a series holds the same ``desk_day`` lock of every day it books, so a series
  and a single booking of one desk and day never run side by side.

The input shapes (a date, a part, 1..26 weeks, at least one weekday) are ``schemas.DeskBookingInput``
and ``schemas.DeskSeriesInput``; the functions here take the typed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from staff_calendar import services as calendar
from staff_calendar.spaces.models import Desk, DeskBooking
from staff_calendar.spaces.services import bookable
from staff_calendar.spaces.services.common import (
    Actor,
    SpacesContext,
    load_settings,
    new_uid,
    now,
    own_booking,
    parts_to_halves,
    today_local,
    username_of,
)
from staff_calendar.spaces.services.desk_availability import (
    HALF_DAY_WEIGHT,
    DeskAvailability,
    DeskDay,
    active_desk,
    active_floors,
    all_attributes,
    desk_availability,
    desk_availability_json,
    desk_blocks_on,
    desk_days,
    free_counts,
    my_desk_bookings,
    week_usage,
    weekly_limit,
)
from staff_calendar.spaces.services.desk_calendar import (
    desk_event_uid,
    desk_title,
    feed_events,
    queue_event,
    requeue_event,
)
from staff_calendar.spaces.services.webhook_events import emit_desk_event

__all__ = [
    "HALF_DAY_WEIGHT", "DeskAvailability", "DeskDay", "SeriesResult", "active_desk", "active_floors", "all_attributes",
    "book_desk", "book_desk_series", "cancel_desk_booking", "check_in", "check_in_at_desk", "desk_availability",
    "desk_availability_json", "desk_days", "desk_event_uid", "desk_title", "feed_events", "free_counts",
    "my_desk_bookings", "today_local", "week_usage", "weekly_limit",
]


@dataclass
class SeriesResult:
    day: date
    booked: bool
    reason: str = ""


def _validate_day(settings: SpacesContext, desk: Desk, day: date, halves: tuple[str, ...], *, series: bool) -> None:
    """Rules that need no lock: what can be booked now (``bookable.desk_refusal``: horizon, closed
    days, half days already over), then blocks."""
    refusal = bookable.desk_refusal(settings, day, halves, now(), series=series)
    if refusal is not None:
        raise refusal
    block = desk_blocks_on(day).get(desk.id)
    if block is not None:
        raise Conflict(_l("Dieser Arbeitsplatz ist gesperrt: %(reason)s", reason=block), code="blocked")


def _insert_halves(
    settings: SpacesContext, actor: Actor, desk: Desk, day: date, halves: tuple[str, ...], series_uid: str | None
) -> list[DeskBooking]:
    """Inside the write transaction: re-check, insert, queue the calendar event."""
    existing = db.session.execute(
        select(DeskBooking.desk_id, DeskBooking.user_id, DeskBooking.half).where(
            DeskBooking.day == day, DeskBooking.half.in_(halves),
            (DeskBooking.desk_id == desk.id) | (DeskBooking.user_id == actor.id))
    ).all()
    if any(row.desk_id == desk.id for row in existing):
        raise Conflict(_l("Dieser Arbeitsplatz ist zu dieser Zeit schon gebucht."), code="desk_taken")
    if existing:
        raise Conflict(_l("Sie haben zu dieser Zeit schon einen Arbeitsplatz gebucht."), code="already_booked")
    limit = weekly_limit(settings, desk.floor)
    used = week_usage(actor.id, day)
    if used + HALF_DAY_WEIGHT * len(halves) > limit:
        raise Conflict(
            _l("Sie haben in dieser Woche schon %(used)s von %(limit)s Arbeitstagen gebucht.",
               used=_number(used), limit=_number(limit)),
            code="weekly_limit",
        )
    group_uid = new_uid()
    rows = [DeskBooking(desk_id=desk.id, user_id=actor.id, day=day, half=half, group_uid=group_uid,
                        series_uid=series_uid) for half in halves]
    try:
        with db.session.begin_nested():  # the rows are flushed inside the savepoint: a refusal undoes only them
            db.session.add_all(rows)
    except IntegrityError:
        raise Conflict(_l("Dieser Arbeitsplatz ist zu dieser Zeit schon gebucht."), code="desk_taken") from None
    queue_event(settings, actor.username, desk, rows)
    emit_desk_event("desk_booking.created", desk, rows, actor.username)
    return rows


def _number(value: float) -> str:
    return f"{value:g}"


def book_desk(actor: Actor, desk_key: str, day: date, part: str) -> list[DeskBooking]:
    """Book ``desk_key`` on ``day`` for ``part`` ("day", "morning", "afternoon")."""
    halves = parts_to_halves(part)
    settings = load_settings()
    desk = active_desk(desk_key)
    _validate_day(settings, desk, day, halves, series=False)
    with write_transaction(locks.desk_day(desk.id, day), locks.desk_user(actor.id)):
        desk = active_desk(desk_key)
        rows = _insert_halves(settings, actor, desk, day, halves, None)
    calendar.request_drain()
    return rows


def book_desk_series(
    actor: Actor, desk_key: str, part: str, weekdays: tuple[int, ...], first_day: date, weeks: int
) -> list[SeriesResult]:
    """Book the desk on each of ``weekdays`` (0 = Monday) for ``weeks`` weeks from ``first_day``;
    each date is booked or reported with the reason it could not be. Holds the ``desk_day`` lock of
    every one of those days, as single bookings of them do."""
    halves = parts_to_halves(part)
    settings = load_settings()
    desk = active_desk(desk_key)
    days = [first_day + timedelta(days=n) for n in range(weeks * 7)
            if (first_day + timedelta(days=n)).weekday() in weekdays]
    series_uid = new_uid()
    results: list[SeriesResult] = []
    booked_any = False
    with write_transaction(*(locks.desk_day(desk.id, day) for day in days), locks.desk_user(actor.id)):
        desk = active_desk(desk_key)
        for day in days:
            try:
                _validate_day(settings, desk, day, halves, series=True)
                _insert_halves(settings, actor, desk, day, halves, series_uid)
            except (Invalid, Conflict) as error:
                results.append(SeriesResult(day, False, str(error.message)))
            else:
                booked_any = True
                results.append(SeriesResult(day, True))
    if booked_any:
        calendar.request_drain()
    return results


def cancel_desk_booking(actor: Actor, booking_id: int, part: str = "day") -> int:
    """Cancel a booking: ``part`` "day" cancels every half of its group, a half only that half.
    Returns the number of half days cancelled. The calendar event shrinks or goes."""
    booking = own_booking(actor, DeskBooking, booking_id)
    group_uid = booking.group_uid
    with write_transaction(locks.desk_day(booking.desk_id, booking.day), locks.desk_user(booking.user_id)):
        rows = list(db.session.execute(
            select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
            .where(DeskBooking.group_uid == group_uid)).scalars())
        if not rows:
            raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
        if rows[0].day < today_local():
            raise Invalid(_l("Vergangene Buchungen können nicht storniert werden."), code="past")
        doomed = [row for row in rows if part == "day" or row.half == part]
        if not doomed:
            raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
        username = username_of(rows[0].user_id)
        remaining = [row for row in rows if row not in doomed]
        emit_desk_event("desk_booking.cancelled", rows[0].desk, doomed, username)
        for row in doomed:
            db.session.delete(row)
        requeue_event(load_settings(), username, rows[0].desk, group_uid, remaining)
        count = len(doomed)
    calendar.request_drain()
    return count


def check_in(actor: Actor, booking_id: int) -> None:
    """Check in to one's own booking for today (all halves of its group)."""
    booking = own_booking(actor, DeskBooking, booking_id)
    if booking.user_id != actor.id:
        raise Forbidden()
    _check_in_group(booking)


def check_in_at_desk(actor: Actor, desk_key: str) -> DeskBooking:
    """Check in at the desk whose QR code was scanned: the actor's booking there today."""
    desk = active_desk(desk_key)
    booking = db.session.execute(
        select(DeskBooking).where(DeskBooking.desk_id == desk.id, DeskBooking.user_id == actor.id,
                                  DeskBooking.day == today_local()).order_by(DeskBooking.half.desc())
    ).scalars().first()
    if booking is None:
        raise NotFound(_l("Sie haben diesen Arbeitsplatz heute nicht gebucht."), code="no_booking")
    _check_in_group(booking)
    return booking


def _check_in_group(booking: DeskBooking) -> None:
    if booking.day != today_local():
        raise Invalid(_l("Einchecken ist nur am Tag der Buchung möglich."), code="not_today")
    group_uid = booking.group_uid
    with write_transaction(locks.desk_user(booking.user_id)):
        checked_in_at = now()
        for row in db.session.execute(select(DeskBooking).where(DeskBooking.group_uid == group_uid)).scalars():
            if row.checked_in_at is None:
                row.checked_in_at = checked_in_at
