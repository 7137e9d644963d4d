"""JSON API of desks and rooms (``/api/v1``), thin over the same services as the pages.

Every view declares itself with ``citizen_portal.core.api.operation`` (access ``USER``, role
``staff``): a staff session (browser; unsafe methods then need the CSRF token in the ``X-CSRFToken``
header), or ``Authorization: Bearer <API token>`` (only the token's SHA-256 is stored, in
``api_tokens``). The blueprint is exempt from the global CSRF check because bearer clients have no
session; session requests are checked by ``core.access`` instead.

Bodies and query strings are typed by ``schemas`` (the same models as the pages, so the same field
messages), answers by ``api_schemas``. Errors are problem details (``citizen_portal.core.errors``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint
from flask_login import current_user

from citizen_portal.core.api import USER, Problem, operation, raw_json_response
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l, localized
from staff_calendar.spaces import schemas
from staff_calendar.spaces.api_schemas import (
    BusyInterval,
    DeskBookingListOut,
    DeskBookingOut,
    DeskDayOut,
    Interval,
    RoomAvailabilityOut,
    RoomBookingListOut,
    RoomBookingOut,
    RoomListOut,
    RoomOut,
)
from staff_calendar.spaces.services import desks, rooms
from staff_calendar.spaces.services.common import Actor, local_moment

bp = Blueprint("spaces_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
DESKS, ROOMS = ("desks",), ("rooms",)


def _actor() -> Actor:
    return Actor.of(current_user)


def _desk_booking_out(rows) -> DeskBookingOut:
    first = rows[0]
    halves = [row.half for row in rows]
    return DeskBookingOut(id=first.id, ids=[row.id for row in rows], desk=first.desk.key, floor=first.desk.floor.key,
                          date=first.day.isoformat(), part="day" if len(halves) == 2 else halves[0],
                          checked_in=first.checked_in_at is not None)


@operation(bp, "GET", "/desks", summary=_l("Arbeitsplätze eines Tages"), scope="desks.read",
           description=_l("Die Arbeitsplätze eines Tages mit freien und noch buchbaren Tageshälften, "
                          "optional eines Stockwerks und mit allen genannten Merkmalen."),
           query=schemas.DesksQuery, responses={200: DeskDayOut}, tags=DESKS, access=USER, paginated="desks")
def list_desks(query: schemas.DesksQuery):
    return raw_json_response(desks.desk_availability_json(query.date, floor_key=query.floor,
                                                          attributes=tuple(query.attribute)))


@operation(bp, "POST", "/desk-bookings", summary=_l("Arbeitsplatz buchen"), scope="desks.write",
           body=schemas.DeskBookingInput, responses={201: DeskBookingOut, 404: Problem, 409: Problem},
           tags=DESKS, access=USER)
def create_desk_booking(body: schemas.DeskBookingInput):
    return _desk_booking_out(desks.book_desk(_actor(), body.desk, body.date, body.part)), 201


@operation(bp, "GET", "/desk-bookings", summary=_l("Eigene Arbeitsplatzbuchungen"), scope="desks.read",
           description=_l("Die eigenen Buchungen von from (Standard: heute) bis to (Standard: 31 Tage später)."),
           query=schemas.PeriodQuery, responses={200: DeskBookingListOut}, tags=DESKS, access=USER,
           paginated="bookings")
def my_desk_bookings(query: schemas.PeriodQuery) -> DeskBookingListOut:
    first = query.first or desks.today_local()
    last = query.last or first + timedelta(days=31)
    groups: dict[str, list] = {}
    for row in desks.my_desk_bookings(_actor(), first, last):
        groups.setdefault(row.group_uid, []).append(row)
    return DeskBookingListOut(bookings=[_desk_booking_out(rows) for rows in groups.values()])


@operation(bp, "DELETE", "/desk-bookings/<int:booking_id>", summary=_l("Arbeitsplatzbuchung absagen"),
           scope="desks.write", description=_l("Sagt den ganzen Tag oder eine Hälfte (part) ab."),
           query=schemas.CancelDeskInput, responses={204: None, 404: Problem, 409: Problem}, tags=DESKS, access=USER)
def delete_desk_booking(booking_id: int, query: schemas.CancelDeskInput) -> None:
    desks.cancel_desk_booking(_actor(), booking_id, query.part)


@operation(bp, "POST", "/desk-bookings/<int:booking_id>/check-in", summary=_l("Am Arbeitsplatz einchecken"),
           scope="desks.write", body=schemas.CheckInInput, responses={204: None, 404: Problem, 409: Problem},
           tags=DESKS, access=USER)
def check_in(booking_id: int, body: schemas.CheckInInput) -> None:
    desks.check_in(_actor(), booking_id)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@operation(bp, "GET", "/rooms", summary=_l("Räume auflisten"), scope="rooms.read",
           responses={200: RoomListOut}, tags=ROOMS, access=USER, paginated="rooms")
def list_rooms() -> RoomListOut:
    return RoomListOut(rooms=[
        RoomOut(key=room.key, name=localized(room.name, room.key), floor=room.floor.key, capacity=room.capacity,
                attributes=list(room.attributes or []))
        for room in rooms.active_rooms()])


@operation(bp, "GET", "/rooms/<key>/availability", summary=_l("Belegung eines Raums"), scope="rooms.read",
           description=_l("Öffnungszeiten, belegte und noch buchbare Zeiten eines Raums an einem Tag."),
           query=schemas.DayQuery, responses={200: RoomAvailabilityOut, 404: Problem}, tags=ROOMS, access=USER)
def room_availability(key: str, query: schemas.DayQuery) -> RoomAvailabilityOut:
    day = query.date
    room = rooms.active_room(key)
    [entry] = rooms.room_schedule([room], day)
    return RoomAvailabilityOut(
        room=room.key, date=day.isoformat(), capacity=room.capacity,
        hours=[Interval(start=_iso(a), end=_iso(b)) for a, b in entry.hours],
        busy=[BusyInterval(start=_iso(b.start), end=_iso(b.end), source=b.source) for b in entry.busy],
        # what can still be booked now: the hours from now on, without the busy time, on the grid
        bookable=[Interval(start=_iso(a), end=_iso(b)) for a, b in entry.free])


def _room_booking_out(booking) -> RoomBookingOut:
    return RoomBookingOut(id=booking.id, room=booking.room.key, start=_iso(booking.start_at), end=_iso(booking.end_at),
                          title=booking.title, attendees=booking.attendees)


@operation(bp, "POST", "/room-bookings", summary=_l("Raum buchen"), scope="rooms.write",
           description=_l("Bucht einen Raum; Zeiten ohne Versatz gelten in der Zeitzone des Standorts."),
           body=schemas.RoomBookingInput, responses={201: RoomBookingOut, 404: Problem, 409: Problem},
           tags=ROOMS, access=USER)
def create_room_booking(body: schemas.RoomBookingInput):
    booking = rooms.book_room(_actor(), body.room, body.start_at, body.end_at, body.title, body.attendees)
    return _room_booking_out(booking), 201


@operation(bp, "GET", "/room-bookings", summary=_l("Eigene Raumbuchungen"), scope="rooms.read",
           description=_l("Die eigenen Buchungen von from (Standard: heute) bis to (Standard: 61 Tage später)."),
           query=schemas.PeriodQuery, responses={200: RoomBookingListOut}, tags=ROOMS, access=USER,
           paginated="bookings")
def my_room_bookings(query: schemas.PeriodQuery) -> RoomBookingListOut:
    first = query.first or desks.today_local()
    last = query.last or first + timedelta(days=61)
    start, end = (local_moment(day, datetime.min.time()) for day in (first, last + timedelta(days=1)))
    return RoomBookingListOut(bookings=[_room_booking_out(b) for b in rooms.my_room_bookings(_actor(), start, end)])


@operation(bp, "DELETE", "/room-bookings/<int:booking_id>", summary=_l("Raumbuchung absagen"), scope="rooms.write",
           responses={204: None, 404: Problem, 409: Problem}, tags=ROOMS, access=USER)
def delete_room_booking(booking_id: int) -> None:
    rooms.cancel_room_booking(_actor(), booking_id)
