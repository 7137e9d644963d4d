"""Busy time of people from their bookings in this package: every room booking is OPAQUE and
blocks its booker (desk bookings are TRANSPARENT and block nobody); so does every event a Graph
client wrote into the person's calendar (``GraphEvent.owner``; a series: each occurrence) unless it
is cancelled or shown as free.

The events these bookings write to the booker's calendar are this platform's own and are left out
of the busy-time mirror, so this is where they count: from the moment the booking commits, in any
process (a database read, no CalDAV)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, or_, select

from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.calendars.models import GraphEvent
from staff_calendar.calendars.view import graph_items
from staff_calendar.spaces.models import RoomBooking

NOT_BLOCKING = ("free", "workingElsewhere")

# built once: reused with new parameters (no building and cache keying per call; the booking's re-check
# under its lock asks these for one person)
_ROOM_BOOKINGS = (
    select(User.username, RoomBooking.start_at, RoomBooking.end_at)
    .join(User, User.id == RoomBooking.user_id)
    .where(User.username.in_(bindparam("usernames", expanding=True)), RoomBooking.start_at < bindparam("end"),
           RoomBooking.end_at > bindparam("start"))
    .order_by(User.username, RoomBooking.start_at)
)
_GRAPH_EVENTS = select(GraphEvent).where(
    GraphEvent.owner.in_(bindparam("usernames", expanding=True)), GraphEvent.start_at < bindparam("end"),
    or_(GraphEvent.end_at > bindparam("start"), GraphEvent.rrule.is_not(None)),
    GraphEvent.is_cancelled.is_(False), GraphEvent.show_as.not_in(NOT_BLOCKING))


def booked_seconds(usernames: Collection[str], start: datetime, end: datetime) -> dict[str, list[tuple[int, int]]]:
    """Room bookings of these users overlapping ``[start, end)`` as (start, end) POSIX seconds per
    username, sorted (one query over the bookings' user index)."""
    parameters = {"usernames": sorted(set(usernames)), "start": start, "end": end}
    rows = db.session.execute(_ROOM_BOOKINGS, parameters).all()
    events = []
    for event in db.session.scalars(_GRAPH_EVENTS, parameters):
        events.extend((event.owner, item.start, item.end) for item in graph_items(event, start, end))
    booked: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for username, booking_start, booking_end in [*rows, *events]:
        booked[username].append((int(booking_start.timestamp()), -int(-booking_end.timestamp() // 1)))
    return {name: sorted(spans) for name, spans in booked.items()}
