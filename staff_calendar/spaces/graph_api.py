"""Graph places (``/graph/v1.0/places``): rooms as ``microsoft.graph.room``, floors as room lists
(``microsoft.graph.roomList``); rooms are also Graph users (their events: ``staff_calendar/graph_api.py``).
Both spellings the clients send are served: ``microsoft.graph.room`` (docs) and ``graph.room`` (the SDK),
case-insensitively."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request
from sqlalchemy import select

from citizen_portal.core import graph
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, localized
from staff_calendar.spaces.models import Floor, Room
from staff_calendar.spaces.services import rooms
from staff_calendar.spaces.settings import DEFAULT_ROOM_HOURS

bp = graph.graph_blueprint("graph_places", __name__)

ACCESSIBLE = frozenset({"accessible", "barrierefrei", "wheelchair", "rollstuhlgerecht"})
DEFAULT_WEEK = {day: DEFAULT_ROOM_HOURS for day in ("mon", "tue", "wed", "thu", "fri")}
ROOM_TYPES = {"microsoft.graph.room": "room", "graph.room": "room",
              "microsoft.graph.roomlist": "roomList", "graph.roomlist": "roomList"}


def room_mail(room: Room) -> str:
    return rooms.room_address(room)


def floor_mail(floor: Floor) -> str:
    return f"etage-{floor.key}@{current_app.config['EVENT_UID_DOMAIN']}"


def room_mailboxes() -> list[graph.Mailbox]:
    return [graph.Mailbox(id=f"room-{room.key}", kind="room", key=room.key,
                          display_name=localized(room.name, room.key), mail=room_mail(room),
                          calendar_key=room.calendar_key,
                          working_hours=dict(room.opening_hours or DEFAULT_WEEK))
            for room in _active_rooms()]


bp.record_once(lambda state: graph.register_mailboxes(state.app, room_mailboxes))


def _active_rooms() -> list[Room]:
    return list(db.session.scalars(select(Room).join(Floor).where(Room.active.is_(True), Floor.active.is_(True))
                                   .order_by(Room.key)))


def room_json(room: Room) -> dict[str, Any]:
    name = localized(room.name, room.key)
    return {"@odata.type": "#microsoft.graph.room", "id": f"room-{room.key}", "displayName": name,
            "emailAddress": room_mail(room), "nickname": name, "label": name, "capacity": int(room.capacity),
            "building": None, "floorLabel": localized(room.floor.name, room.floor.key), "floorNumber": None,
            "isWheelChairAccessible": bool(ACCESSIBLE & {a.lower() for a in room.attributes or []}),
            "bookingType": "standard", "tags": list(room.attributes or []), "phone": None,
            "audioDeviceName": None, "videoDeviceName": None, "displayDeviceName": None, "geoCoordinates": None,
            "address": None, "parentId": f"floor-{room.floor.key}"}


def floor_json(floor: Floor) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.roomList", "id": f"floor-{floor.key}",
            "displayName": localized(floor.name, floor.key), "emailAddress": floor_mail(floor), "phone": None,
            "address": None, "geoCoordinates": None}


FILTER_TERM = re.compile(r"^\s*(capacity)\s+(eq|ne|ge|gt|le|lt)\s+(\d{1,6})\s*$|"
                         r"^\s*(isWheelChairAccessible)\s+(eq|ne)\s+(true|false)\s*$", re.IGNORECASE)
COMPARE = {"eq": operator.eq, "ne": operator.ne, "ge": operator.ge, "gt": operator.gt, "le": operator.le,
           "lt": operator.lt}


def room_filter(expression: str) -> Callable[[dict[str, Any]], bool]:
    """``$filter`` on rooms: ``capacity <op> N`` and ``isWheelChairAccessible eq|ne true|false``, joined by
    ``and``; anything else is refused (400), never ignored."""
    tests = []
    for term in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = FILTER_TERM.match(term)
        if match is None:
            raise Invalid(fields={"$filter": _l("Unterstützt: capacity ge 10, isWheelChairAccessible eq true "
                                                "(mit and verbunden).")})
        if match.group(1):
            op, number = COMPARE[match.group(2).lower()], int(match.group(3))
            tests.append(lambda room, op=op, number=number: op(room["capacity"], number))
        else:
            op, flag = COMPARE[match.group(5).lower()], match.group(6).lower() == "true"
            tests.append(lambda room, op=op, flag=flag: op(room["isWheelChairAccessible"], flag))
    return lambda room: all(test(room) for test in tests)


@bp.get("/places/<kind>")
def list_places(kind: str):
    graph.authorize_graph("Place.Read.All")
    wanted = ROOM_TYPES.get(kind.lower())
    graph.reject_unsupported_options(*(["$filter"] if wanted == "room" else []))
    if wanted is None:
        return get_place(kind)
    if wanted == "room":
        keep = room_filter(request.args["$filter"]) if "$filter" in request.args else (lambda room: True)
        items = [item for item in (room_json(room) for room in _active_rooms()) if keep(item)]
        context = "places/microsoft.graph.room"
    else:
        floors = db.session.scalars(select(Floor).where(Floor.active.is_(True)).order_by(Floor.key)).all()
        items = [floor_json(floor) for floor in floors]
        context = "places/microsoft.graph.roomList"
    return graph.collection(items, context=context, default_top=100, fields=graph.select_fields())


def get_place(ident: str, wanted_type: str | None = None):
    """A room or a room list by id or e-mail address; ``wanted_type`` ("room", "roomList") casts."""
    graph.authorize_graph("Place.Read.All")
    wanted = ident.strip().lower()
    if wanted_type in (None, "room"):
        for room in _active_rooms():
            if wanted in (f"room-{room.key}", room_mail(room).lower()):
                return jsonify(graph.selected(room_json(room), graph.select_fields()))
        if wanted_type == "room":
            raise NotFound()
    floor = _floor(ident)
    return jsonify(graph.selected(floor_json(floor), graph.select_fields()))


@bp.get("/places/<ident>/<kind>")
def get_typed_place(ident: str, kind: str):
    """``/places/{id}/graph.room`` (the SDK's ``by_place_id(id).graph_room.get()``) and ``.../graph.roomList``."""
    wanted_type = ROOM_TYPES.get(kind.lower())
    if wanted_type is None:
        raise NotFound()
    return get_place(ident, wanted_type)


def _floor(ident: str) -> Floor:
    wanted = ident.strip().lower()
    for floor in db.session.scalars(select(Floor).where(Floor.active.is_(True))):
        if wanted in (f"floor-{floor.key}", floor_mail(floor).lower()):
            return floor
    raise NotFound()


@bp.get("/places/<ident>/<kind>/rooms")
def room_list_rooms(ident: str, kind: str):
    graph.authorize_graph("Place.Read.All")
    if ROOM_TYPES.get(kind.lower()) != "roomList":
        raise NotFound()
    floor = _floor(ident)
    items = [room_json(room) for room in _active_rooms() if room.floor_id == floor.id]
    return graph.collection(items, context="places/microsoft.graph.room", default_top=100,
                            fields=graph.select_fields())
