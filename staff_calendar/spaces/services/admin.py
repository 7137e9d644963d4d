"""Editing floors, desks and rooms (admin): the rules behind the page "Räume und Plätze".

The site file stays the source of truth: ``flask site load`` overwrites every entry it names and
deactivates desks and rooms it does not name (never deletes them). Edits made here are meant for
quick changes between two loads; the page says so.

Inputs are the texts as entered (``FloorInput``, ``DeskInput``, ``RoomInput``), so one call reports
every problem at once as ``Invalid(fields=...)``. The rules:

- **Key** (new desks and rooms only; keys never change): ``a-z0-9._-``, starts with a letter or digit,
  at most 64 characters (the site file's key format), unique among desks resp. rooms.
- **Names**: the German name of a floor or room is required (at most 200 characters); the English one
  is optional (pages fall back to German). A desk's label is optional (at most 100 characters).
- **Desk days per week** of a floor: empty (the site's default) or a whole number 1..7.
- **Attributes**: any of the fixed ones (``DESK_ATTRIBUTES`` / ``ROOM_ATTRIBUTES``) plus free
  additions separated by commas or spaces, each in the key format; stored sorted, without duplicates.
- **Position** ``x``/``y`` on the floor plan: both empty or both numbers within 0..100 (percent).
- **Capacity** of a room: a whole number 1..500.
- **Opening hours** of a room, per weekday: ``"HH:MM-HH:MM"`` ranges separated by commas, start
  before end, not overlapping (touching is fine); all weekdays empty means the default hours
  (07:00-19:00 Monday to Friday).
- **Deactivating** a desk, room or floor keeps every booking; the result names how many future
  bookings (today or later) there are, so the admin can tell the people concerned. Nothing here
  deletes bookings.
- A room's CalDAV calendar is not edited here: its URL and secret come from the site file.

Writes take the ``site-load`` lock (so they never interleave with ``flask site load``) and commit;
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

from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from staff_calendar.spaces.models import Desk, DeskBooking, Floor, Room, RoomBooking
from staff_calendar.spaces.services.admin_inputs import (
    DESK_ATTRIBUTES,
    LABEL_LENGTH,
    MAX_CAPACITY,
    MAX_DESK_DAYS,
    ROOM_ATTRIBUTES,
    DeskInput,
    Errors,
    FloorInput,
    RoomInput,
    check_key,
    check_names,
    checked_attributes,
    opening_hours,
    parse_day_ranges,
    position,
    whole_number,
)
from staff_calendar.spaces.services.common import Actor, local_moment, today_local

__all__ = ["DESK_ATTRIBUTES", "ROOM_ATTRIBUTES", "DeskInput", "FloorInput", "RoomInput", "parse_day_ranges"]

LOCK = "site-load"
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


def get_desk(key: str) -> Desk:
    """A desk by key, active or not (the booking pages only know active ones)."""
    desk = db.session.execute(select(Desk).where(Desk.key == key)).scalar_one_or_none()
    if desk is None:
        raise NotFound(_l("Diesen Arbeitsplatz gibt es nicht."))
    return desk


def get_room(key: str) -> Room:
    """A room by key, active or not."""
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
    """Name (de required), desk days per week (empty or 1..7), active. Deactivating keeps bookings."""
    _require_admin(actor)
    floor = get_floor(key)
    errors: Errors = {}
    name = check_names(data.name_de, data.name_en, errors)
    days = (whole_number(data.desk_days_per_week, "desk_days_per_week", 1, MAX_DESK_DAYS, errors)
            if data.desk_days_per_week else None)
    if errors:
        raise Invalid(fields=errors)
    deactivated = floor.active and not data.active
    kept = future_floor_bookings(floor) if deactivated else 0
    with write_transaction(LOCK):
        floor = get_floor(key)
        floor.name, floor.desk_days_per_week, floor.active = name, days, data.active
    _forget_cached_layout()
    return Saved(floor, deactivated, kept)


def _desk_values(data: DeskInput, errors: Errors) -> dict[str, Any]:
    if len(data.label) > LABEL_LENGTH:
        errors["label"] = _l("Höchstens %(n)s Zeichen.", n=LABEL_LENGTH)
    attributes = checked_attributes(data.attributes, data.more_attributes, DESK_ATTRIBUTES, errors)
    x, y = position(data.x, data.y, errors)
    return {"label": data.label or None, "attributes": attributes, "x": x, "y": y, "active": data.active}


def _create(actor: Actor, floor_key: str, data: DeskInput | RoomInput, model: type[Desk] | type[Room],
            values_of: Callable[[Any, Errors], dict[str, Any]]) -> Saved:
    """Rules shared by new desks and rooms: admin only; every input problem reported at once;
    the key (format, unique) re-checked under the lock, so two admins cannot create the same one."""
    _require_admin(actor)
    floor = get_floor(floor_key)
    errors: Errors = {}
    check_key(data.key, model, errors)
    values = values_of(data, errors)
    if errors:
        raise Invalid(fields=errors)
    with write_transaction(LOCK):
        errors = {}
        check_key(data.key, model, errors)
        if errors:
            raise Invalid(fields=errors)
        item = model(key=data.key, floor_id=floor.id, **values)
        db.session.add(item)
    return Saved(item)


def _update(actor: Actor, key: str, data: DeskInput | RoomInput, get: Callable[[str], Any],
            values_of: Callable[[Any, Errors], dict[str, Any]], future_bookings: Callable[[list[int]], int]) -> Saved:
    """Rules shared by desk and room edits: admin only; every input problem reported at once;
    deactivating keeps every booking and reports how many lie ahead."""
    _require_admin(actor)
    item = get(key)
    errors: Errors = {}
    values = values_of(data, errors)
    if errors:
        raise Invalid(fields=errors)
    deactivated = item.active and not data.active
    kept = future_bookings([item.id]) if deactivated else 0
    with write_transaction(LOCK):
        item = get(key)
        for name, value in values.items():
            setattr(item, name, value)
    return Saved(item, deactivated, kept)


def create_desk(actor: Actor, floor_key: str, data: DeskInput) -> Saved:
    """A new desk on the floor: key (format, unique), label, attributes, position (0..100), active."""
    saved = _create(actor, floor_key, data, Desk, _desk_values)
    _forget_cached_layout()
    return saved


def update_desk(actor: Actor, key: str, data: DeskInput) -> Saved:
    """Label, attributes, position (both or none, 0..100), active; deactivating keeps bookings."""
    saved = _update(actor, key, data, get_desk, _desk_values, future_desk_bookings)
    _forget_cached_layout()
    return saved


def _room_values(data: RoomInput, errors: Errors) -> dict[str, Any]:
    name = check_names(data.name_de, data.name_en, errors)
    capacity = whole_number(data.capacity, "capacity", 1, MAX_CAPACITY, errors)
    attributes = checked_attributes(data.attributes, data.more_attributes, ROOM_ATTRIBUTES, errors)
    hours = opening_hours(data.hours, errors)
    x, y = position(data.x, data.y, errors)
    return {"name": name, "capacity": capacity, "attributes": attributes, "opening_hours": hours,
            "x": x, "y": y, "active": data.active}


def create_room(actor: Actor, floor_key: str, data: RoomInput) -> Saved:
    """A new room on the floor: key (format, unique), name (de required), capacity 1..500,
    attributes, opening hours (valid, non-overlapping ranges), position, active. No calendar."""
    return _create(actor, floor_key, data, Room, _room_values)


def update_room(actor: Actor, key: str, data: RoomInput) -> Saved:
    """Name, capacity 1..500, attributes, opening hours, position, active; the calendar link stays
    as the site file set it. Deactivating keeps bookings (and reports how many are ahead)."""
    return _update(actor, key, data, get_room, _room_values, future_room_bookings)
