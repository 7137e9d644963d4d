"""JSON API of desks and rooms (``/api/v1``), thin over the same services as the pages.

Authentication: a staff session (browser; unsafe methods then need the CSRF token in the
``X-CSRFToken`` header), or ``Authorization: Bearer <API token>`` (only the token's SHA-256 is
stored, in ``api_tokens``). The blueprint is exempt from the global CSRF check because bearer
clients have no session; session requests are checked here instead.

Bodies and query strings are typed by ``schemas`` (the same models as the pages, so the same field
messages). Errors are ``{"error": code, "message", "fields"}`` with a 4xx status
(``citizen_portal.core.errors``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from citizen_portal.core.access import authenticate_api_request
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import localized
from citizen_portal.core.schemas import parse_form, parse_json
from staff_calendar.spaces import schemas
from staff_calendar.spaces.services import desks, rooms
from staff_calendar.spaces.services.common import Actor, local_moment

bp = Blueprint("spaces_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _authenticate() -> None:
    authenticate_api_request("staff")


def _actor() -> Actor:
    return Actor.of(current_user)


def _desk_booking_json(rows) -> dict:
    first = rows[0]
    halves = [row.half for row in rows]
    return {"id": first.id, "ids": [row.id for row in rows], "desk": first.desk.key, "floor": first.desk.floor.key,
            "date": first.day.isoformat(), "part": "day" if len(halves) == 2 else halves[0],
            "checked_in": first.checked_in_at is not None}


@bp.get("/desks")
def list_desks():
    query = parse_form(schemas.DesksQuery, request.args)
    body = desks.desk_availability_json(query.date, floor_key=query.floor, attributes=tuple(query.attribute))
    return current_app.response_class(body, mimetype="application/json")


@bp.post("/desk-bookings")
def create_desk_booking():
    data = parse_json(schemas.DeskBookingInput, request.get_json(silent=True))
    rows = desks.book_desk(_actor(), data.desk, data.date, data.part)
    return jsonify(_desk_booking_json(rows)), 201


@bp.get("/desk-bookings")
def my_desk_bookings():
    query = parse_form(schemas.PeriodQuery, request.args)
    first = query.first or desks.today_local()
    last = query.last or first + timedelta(days=31)
    groups: dict[str, list] = {}
    for row in desks.my_desk_bookings(_actor(), first, last):
        groups.setdefault(row.group_uid, []).append(row)
    return jsonify({"bookings": [_desk_booking_json(rows) for rows in groups.values()]})


@bp.delete("/desk-bookings/<int:booking_id>")
def delete_desk_booking(booking_id: int):
    data = parse_form(schemas.CancelDeskInput, request.args)
    desks.cancel_desk_booking(_actor(), booking_id, data.part)
    return "", 204


@bp.post("/desk-bookings/<int:booking_id>/check-in")
def check_in(booking_id: int):
    if request.get_data():
        parse_json(schemas.CheckInInput, request.get_json(silent=True))
    desks.check_in(_actor(), booking_id)
    return "", 204


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@bp.get("/rooms")
def list_rooms():
    return jsonify({"rooms": [
        {"key": room.key, "name": localized(room.name, room.key), "floor": room.floor.key,
         "capacity": room.capacity, "attributes": list(room.attributes or [])}
        for room in rooms.active_rooms()]})


@bp.get("/rooms/<key>/availability")
def room_availability(key: str):
    day = parse_form(schemas.DayQuery, request.args).date
    room = rooms.active_room(key)
    [entry] = rooms.room_schedule([room], day)
    return jsonify({
        "room": room.key, "date": day.isoformat(), "capacity": room.capacity,
        "hours": [{"start": _iso(a), "end": _iso(b)} for a, b in entry.hours],
        "busy": [{"start": _iso(b.start), "end": _iso(b.end), "source": b.source} for b in entry.busy],
        # what can still be booked now: the hours from now on, without the busy time, on the grid
        "bookable": [{"start": _iso(a), "end": _iso(b)} for a, b in entry.free],
    })


@bp.post("/room-bookings")
def create_room_booking():
    data = parse_json(schemas.RoomBookingInput, request.get_json(silent=True))
    booking = rooms.book_room(_actor(), data.room, data.start_at, data.end_at, data.title, data.attendees)
    return jsonify(_room_booking_json(booking)), 201


def _room_booking_json(booking) -> dict:
    return {"id": booking.id, "room": booking.room.key, "start": _iso(booking.start_at), "end": _iso(booking.end_at),
            "title": booking.title, "attendees": booking.attendees}


@bp.get("/room-bookings")
def my_room_bookings():
    query = parse_form(schemas.PeriodQuery, request.args)
    first = query.first or desks.today_local()
    last = query.last or first + timedelta(days=61)
    start, end = (local_moment(day, datetime.min.time()) for day in (first, last + timedelta(days=1)))
    return jsonify({"bookings": [_room_booking_json(b) for b in rooms.my_room_bookings(_actor(), start, end)]})


@bp.delete("/room-bookings/<int:booking_id>")
def delete_room_booking(booking_id: int):
    rooms.cancel_room_booking(_actor(), booking_id)
    return "", 204

