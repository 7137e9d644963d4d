"""Editing floors, desks and rooms (admin): the rules behind the page "Räume und Plätze".

The site file stays the source of truth: ``flask site load`` overwrites every entry it names and
deactivates desks and rooms it does not name (never deletes them). Edits made here are meant for
quick changes between two loads; the page says so.

The input is typed by ``staff_calendar.spaces.admin_schemas`` (``FloorInput``, ``DeskInput``,
``RoomInput``, ``NewDeskInput``, ``NewRoomInput``: names, keys, numbers, attributes, positions,
opening hours; every problem of the form reported at once). The rules here:

- A new desk's or room's **key** is not taken yet (re-checked under the lock, so two admins cannot
  create the same one). Keys never change.
- **Deactivating** a desk, room or floor keeps every booking; the result names how many future
  bookings (today or later) there are, so the admin can tell the people concerned. Nothing here
  deletes bookings.
- A room's CalDAV calendar is not edited here: its URL and secret come from the site file.

Writes hold ``locks.site_load`` (so they never interleave with ``flask site load``) and
``locks.spaces_admin``, and commit;
afterwards this worker's cached desk layout is dropped (other workers follow within
``SPACES_CACHE_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from staff_calendar.spaces.admin_schemas import DeskInput, FloorInput, NewDeskInput, NewRoomInput, RoomInput
from staff_calendar.spaces.models import Desk, DeskBooking, Floor, Room, RoomBooking
from staff_calendar.spaces.services.common import Actor, local_moment, today_local

LOCKS = (locks.site_load(), locks.spaces_admin())

# --- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Saved:
    """What a save did: the row, and the future bookings kept when it was deactivated (else 0)."""

    item: Any
    deactivated: bool = False
    future_bookings: int = 0


@dataclass
class FloorOverview:
    floor: Floor
    desks: list[Desk]
    rooms: list[Room]


# --- reading ---------------------------------------------------------------------------------------

def floors_overview() -> list[FloorOverview]:
    """Every floor (active or not) with all its desks and rooms, ordered by key."""
    floors = db.session.execute(
        select(Floor).options(selectinload(Floor.desks), selectinload(Floor.rooms)).order_by(Floor.key)
    ).scalars().all()
    return [FloorOverview(floor, list(floor.desks), list(floor.rooms)) for floor in floors]


def get_floor(key: str) -> Floor:
    floor = db.session.execute(select(Floor).where(Floor.key == key)).scalar_one_or_none()
    if floor is None:
        raise NotFound(_l("Diese Etage gibt es nicht."))
    return floor


def any_desk(key: str) -> Desk:
    """A desk by key, active or not (booking knows only active ones: ``desks.active_desk``)."""
    desk = db.session.execute(select(Desk).where(Desk.key == key)).scalar_one_or_none()
    if desk is None:
        raise NotFound(_l("Diesen Arbeitsplatz gibt es nicht."))
    return desk


def any_room(key: str) -> Room:
    """A room by key, active or not (booking knows only active ones: ``rooms.active_room``)."""
    room = db.session.execute(select(Room).where(Room.key == key)).scalar_one_or_none()
    if room is None:
        raise NotFound(_l("Diesen Raum gibt es nicht."))
    return room


def future_desk_bookings(desk_ids: list[int]) -> int:
    """Booked half days of these desks from today on."""
    if not desk_ids:
        return 0
    return db.session.execute(select(func.count()).select_from(DeskBooking).where(
        DeskBooking.desk_id.in_(desk_ids), DeskBooking.day >= today_local())).scalar_one()


def future_room_bookings(room_ids: list[int]) -> int:
    """Room bookings of these rooms that have not ended yet (from today's midnight on)."""
    if not room_ids:
        return 0
    start = local_moment(today_local(), time(0, 0))
    return db.session.execute(select(func.count()).select_from(RoomBooking).where(
        RoomBooking.room_id.in_(room_ids), RoomBooking.end_at > start)).scalar_one()


def future_floor_bookings(floor: Floor) -> int:
    return (future_desk_bookings([desk.id for desk in floor.desks])
            + future_room_bookings([room.id for room in floor.rooms]))


# --- writes ----------------------------------------------------------------------------------------

def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden()


def _forget_cached_layout() -> None:
    current_app.extensions.get("spaces_cache", {}).clear()


def update_floor(actor: Actor, key: str, data: FloorInput) -> Saved:
    """Name, desk days per week (None: the site's), active. Deactivating keeps bookings."""
    _require_admin(actor)
    floor = get_floor(key)
    deactivated = floor.active and not data.active
    kept = future_floor_bookings(floor) if deactivated else 0
    with write_transaction(*LOCKS):
        floor = get_floor(key)
        floor.name, floor.desk_days_per_week, floor.active = data.name, data.desk_days_per_week, data.active
    _forget_cached_layout()
    return Saved(floor, deactivated, kept)


def _desk_values(data: DeskInput) -> dict[str, Any]:
    return {"label": data.label, "attributes": data.all_attributes, "x": data.x, "y": data.y, "active": data.active}


def _room_values(data: RoomInput) -> dict[str, Any]:
    return {"name": data.name, "capacity": data.capacity, "attributes": data.all_attributes,
            "opening_hours": data.opening_hours, "x": data.x, "y": data.y, "active": data.active}


def _key_taken(key: str, model: type[Desk] | type[Room]) -> None:
    if db.session.execute(select(model.id).where(model.key == key)).first() is not None:
        raise Invalid(fields={"key": _l("Diesen Schlüssel gibt es schon.")})


def _create(actor: Actor, floor_key: str, data: NewDeskInput | NewRoomInput, model: type[Desk] | type[Room],
            values: dict[str, Any]) -> Saved:
    """Rules shared by new desks and rooms: admin only; the key not taken, re-checked under the lock."""
    _require_admin(actor)
    floor = get_floor(floor_key)
    _key_taken(data.key, model)
    with write_transaction(*LOCKS):
        _key_taken(data.key, model)
        item = model(key=data.key, floor_id=floor.id, **values)
        db.session.add(item)
    return Saved(item)


def _update(actor: Actor, key: str, data: DeskInput | RoomInput, get: Callable[[str], Any],
            values: dict[str, Any], future_bookings: Callable[[list[int]], int]) -> Saved:
    """Rules shared by desk and room edits: admin only; deactivating keeps every booking and reports
    how many lie ahead."""
    _require_admin(actor)
    item = get(key)
    deactivated = item.active and not data.active
    kept = future_bookings([item.id]) if deactivated else 0
    with write_transaction(*LOCKS):
        item = get(key)
        for name, value in values.items():
            setattr(item, name, value)
    return Saved(item, deactivated, kept)


def create_desk(actor: Actor, floor_key: str, data: NewDeskInput) -> Saved:
    """A new desk on the floor (its key not taken yet)."""
    saved = _create(actor, floor_key, data, Desk, _desk_values(data))
    _forget_cached_layout()
    return saved


def update_desk(actor: Actor, key: str, data: DeskInput) -> Saved:
    """Label, attributes, position, active; deactivating keeps bookings."""
    saved = _update(actor, key, data, any_desk, _desk_values(data), future_desk_bookings)
    _forget_cached_layout()
    return saved


def create_room(actor: Actor, floor_key: str, data: NewRoomInput) -> Saved:
    """A new room on the floor (its key not taken yet); no calendar (that comes from the site file)."""
    return _create(actor, floor_key, data, Room, _room_values(data))


def update_room(actor: Actor, key: str, data: RoomInput) -> Saved:
    """Name, capacity, attributes, opening hours, position, active; the calendar link stays as the
    site file set it. Deactivating keeps bookings (and reports how many are ahead)."""
    return _update(actor, key, data, any_room, _room_values(data), future_room_bookings)
