"""The desk and room booking events other software can subscribe to (signed webhooks,
``citizen_portal.core.webhooks``).

Rules: emitted inside the transaction of the booking or cancellation. The payload has ids, keys and
times; who booked (username) and a room booking's title go only to clients holding the area's write
scope. Clients restricted to staff members get only those members' bookings. A room booking is also a
Graph change notification of the room mailbox's events (``core.webhooks.graph``)."""

from __future__ import annotations

from collections.abc import Sequence

from citizen_portal.core.graph import encode_id
from citizen_portal.core.i18n import _l
from citizen_portal.core.webhooks import EventType, emit_event, iso
from citizen_portal.core.webhooks.graph import notify_graph_change
from staff_calendar.spaces.models import Desk, DeskBooking, RoomBooking

EVENT_TYPES = (
    EventType("desk_booking.created", "desks.read", _l("Ein Arbeitsplatz wurde gebucht."), "desks.write"),
    EventType("desk_booking.cancelled", "desks.read", _l("Eine Platzbuchung wurde storniert."), "desks.write"),
    EventType("room_booking.created", "rooms.read", _l("Ein Raum wurde gebucht."), "rooms.write"),
    EventType("room_booking.cancelled", "rooms.read", _l("Eine Raumbuchung wurde storniert."), "rooms.write"),
)


def emit_desk_event(type_: str, desk: Desk, rows: Sequence[DeskBooking], username: str) -> None:
    """``rows``: the half days booked or cancelled (one group, one day)."""
    halves = sorted(row.half for row in rows)
    emit_event(type_, {"ids": [row.id for row in rows], "desk": desk.key, "floor": desk.floor.key,
                       "date": rows[0].day.isoformat(), "halves": halves},
               personal={"user": username}, staff_username=username)


def emit_room_event(type_: str, booking: RoomBooking, room_key: str, username: str) -> None:
    emit_event(type_, {"id": booking.id, "room": room_key, "start": iso(booking.start_at), "end": iso(booking.end_at),
                       "attendees": booking.attendees},
               personal={"user": username, "title": booking.title}, staff_username=username)
    from staff_calendar.spaces.services.rooms import room_event_uid  # rooms imports this module

    notify_graph_change([f"room:{room_key}"], encode_id(room_event_uid(booking)),
                        "created" if type_.endswith("created") else "deleted")
