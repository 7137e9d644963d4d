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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from itertools import pairwise
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from citizen_portal.database import write_transaction
from citizen_portal.errors import Forbidden, Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l
from staff_calendar.spaces.models import Desk, DeskBooking, Floor, Room, RoomBooking
from staff_calendar.spaces.services.common import WEEKDAYS, Actor, local_moment, today_local

LOCK = "site-load"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
RANGE_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DESK_ATTRIBUTES = ("monitor", "standing", "accessible")
ROOM_ATTRIBUTES = ("projector", "video-conference", "accessible")
MAX_CAPACITY = 500
MAX_DESK_DAYS = 7
NAME_LENGTH = 200
LABEL_LENGTH = 100

Errors = dict[str, Any]


# --- inputs (texts as entered) ---------------------------------------------------------------------

def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(values: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(values, "getlist", None)
    items = getlist(name) if getlist else values.get(name) or []
    if isinstance(items, str):
        items = [items]
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def _flag(values: Mapping[str, Any], name: str) -> bool:
    return values.get(name) not in (None, "", "0", "false", "off")


@dataclass
class FloorInput:
    name_de: str = ""
    name_en: str = ""
    desk_days_per_week: str = ""
    active: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FloorInput:
        return cls(_text(values, "name_de"), _text(values, "name_en"), _text(values, "desk_days_per_week"),
                   _flag(values, "active"))

    @classmethod
    def of(cls, floor: Floor) -> FloorInput:
        name = floor.name or {}
        days = "" if floor.desk_days_per_week is None else str(floor.desk_days_per_week)
        return cls(name.get("de", ""), name.get("en", ""), days, floor.active)


@dataclass
class DeskInput:
    key: str = ""
    label: str = ""
    attributes: list[str] = field(default_factory=list)
    more_attributes: str = ""
    x: str = ""
    y: str = ""
    active: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeskInput:
        return cls(_text(values, "key"), _text(values, "label"), _list(values, "attributes"),
                   _text(values, "more_attributes"), _text(values, "x"), _text(values, "y"), _flag(values, "active"))

    @classmethod
    def of(cls, desk: Desk) -> DeskInput:
        fixed, more = _split_attributes(desk.attributes or [], DESK_ATTRIBUTES)
        return cls(desk.key, desk.label or "", fixed, more, _number_text(desk.x), _number_text(desk.y), desk.active)


@dataclass
class RoomInput:
    key: str = ""
    name_de: str = ""
    name_en: str = ""
    capacity: str = ""
    attributes: list[str] = field(default_factory=list)
    more_attributes: str = ""
    hours: dict[str, str] = field(default_factory=dict)  # weekday -> "08:00-12:00, 13:00-18:00"
    x: str = ""
    y: str = ""
    active: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RoomInput:
        return cls(_text(values, "key"), _text(values, "name_de"), _text(values, "name_en"),
                   _text(values, "capacity"), _list(values, "attributes"), _text(values, "more_attributes"),
                   {day: _text(values, f"hours.{day}") for day in WEEKDAYS},
                   _text(values, "x"), _text(values, "y"), _flag(values, "active"))

    @classmethod
    def of(cls, room: Room) -> RoomInput:
        fixed, more = _split_attributes(room.attributes or [], ROOM_ATTRIBUTES)
        name = room.name or {}
        hours = {day: ", ".join((room.opening_hours or {}).get(day) or []) for day in WEEKDAYS}
        return cls(room.key, name.get("de", ""), name.get("en", ""), str(room.capacity), fixed, more, hours,
                   _number_text(room.x), _number_text(room.y), room.active)


def _split_attributes(attributes: list[str], fixed: tuple[str, ...]) -> tuple[list[str], str]:
    return [a for a in attributes if a in fixed], ", ".join(a for a in attributes if a not in fixed)


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


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


# --- checks ----------------------------------------------------------------------------------------

def _check_key(key: str, model: type, errors: Errors) -> None:
    if not KEY_PATTERN.match(key):
        errors["key"] = _l("Bitte geben Sie einen Schlüssel aus Kleinbuchstaben a–z, Ziffern und . _ - an "
                           "(höchstens 64 Zeichen, beginnend mit Buchstabe oder Ziffer).")
    elif db.session.execute(select(model.id).where(model.key == key)).first() is not None:
        errors["key"] = _l("Diesen Schlüssel gibt es schon.")


def _check_names(name_de: str, name_en: str, errors: Errors) -> dict[str, str]:
    if not name_de:
        errors["name_de"] = _l("Bitte geben Sie den deutschen Namen an.")
    elif len(name_de) > NAME_LENGTH:
        errors["name_de"] = _l("Höchstens %(n)s Zeichen.", n=NAME_LENGTH)
    if len(name_en) > NAME_LENGTH:
        errors["name_en"] = _l("Höchstens %(n)s Zeichen.", n=NAME_LENGTH)
    return {"de": name_de, "en": name_en} if name_en else {"de": name_de}


def _whole_number(text: str, name: str, minimum: int, maximum: int, errors: Errors) -> int | None:
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        errors[name] = _l("Bitte geben Sie eine ganze Zahl von %(min)s bis %(max)s an.", min=minimum, max=maximum)
        return None
    return number


def _attributes(fixed: list[str], more: str, allowed: tuple[str, ...], errors: Errors) -> list[str]:
    values = {a for a in fixed if a in allowed}
    extra = [item for item in re.split(r"[,;\s]+", more.lower()) if item]
    bad = [item for item in extra if not KEY_PATTERN.match(item)]
    if bad:
        errors["more_attributes"] = _l("Nicht als Merkmal möglich: %(values)s. Erlaubt sind Kleinbuchstaben a–z, "
                                       "Ziffern und . _ -, getrennt durch Kommas.", values=", ".join(bad))
    values.update(item for item in extra if KEY_PATTERN.match(item))
    return sorted(values)


def _position(x_text: str, y_text: str, errors: Errors) -> tuple[float | None, float | None]:
    if not x_text and not y_text:
        return None, None
    result: list[float | None] = []
    for name, text in (("x", x_text), ("y", y_text)):
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            value = None
        if value is None or not 0 <= value <= 100:
            errors[name] = _l("Bitte geben Sie eine Zahl von 0 bis 100 an (beide Werte oder keinen).")
            value = None
        result.append(value)
    return result[0], result[1]


def _clock(hours: str, minutes: str) -> time | None:
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_day_ranges(text: str) -> list[str]:
    """``"08:00-12:00, 13:00-18:00"`` as sorted, normalised ranges; raises ``ValueError`` with a
    reason when a range is unreadable, not start before end, or overlaps another."""
    ranges: list[tuple[time, time]] = []
    for part in (item.strip() for item in re.split(r"[,;]", text)):
        if not part:
            continue
        match = RANGE_PATTERN.match(part)
        first = _clock(match.group(1), match.group(2)) if match else None
        last = _clock(match.group(3), match.group(4)) if match else None
        if first is None or last is None:
            raise ValueError("format")
        if first >= last:
            raise ValueError("order")
        ranges.append((first, last))
    ranges.sort()
    for (_a, previous_end), (next_start, _b) in pairwise(ranges):
        if next_start < previous_end:
            raise ValueError("overlap")
    return [f"{a:%H:%M}-{b:%H:%M}" for a, b in ranges]


def _opening_hours(hours: dict[str, str], errors: Errors) -> dict[str, list[str]] | None:
    messages = {
        "format": _l("Bitte geben Sie Zeiten als „HH:MM-HH:MM“ an, mehrere durch Kommas getrennt, z. B. "
                     "08:00-12:00, 13:00-18:00."),
        "order": _l("Der Beginn muss vor dem Ende liegen."),
        "overlap": _l("Die Zeiträume dürfen sich nicht überschneiden."),
    }
    result: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        try:
            ranges = parse_day_ranges(hours.get(day, ""))
        except ValueError as reason:
            errors[f"hours.{day}"] = messages[str(reason)]
            continue
        if ranges:
            result[day] = ranges
    return result or None


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
    name = _check_names(data.name_de, data.name_en, errors)
    days = (_whole_number(data.desk_days_per_week, "desk_days_per_week", 1, MAX_DESK_DAYS, errors)
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
    attributes = _attributes(data.attributes, data.more_attributes, DESK_ATTRIBUTES, errors)
    x, y = _position(data.x, data.y, errors)
    return {"label": data.label or None, "attributes": attributes, "x": x, "y": y, "active": data.active}


def create_desk(actor: Actor, floor_key: str, data: DeskInput) -> Saved:
    """A new desk on the floor: key (format, unique), label, attributes, position (0..100), active."""
    _require_admin(actor)
    floor = get_floor(floor_key)
    errors: Errors = {}
    _check_key(data.key, Desk, errors)
    values = _desk_values(data, errors)
    if errors:
        raise Invalid(fields=errors)
    with write_transaction(LOCK):
        errors = {}
        _check_key(data.key, Desk, errors)  # re-check under the lock
        if errors:
            raise Invalid(fields=errors)
        desk = Desk(key=data.key, floor_id=floor.id, **values)
        db.session.add(desk)
    _forget_cached_layout()
    return Saved(desk)


def update_desk(actor: Actor, key: str, data: DeskInput) -> Saved:
    """Label, attributes, position (both or none, 0..100), active; deactivating keeps bookings."""
    _require_admin(actor)
    desk = get_desk(key)
    errors: Errors = {}
    values = _desk_values(data, errors)
    if errors:
        raise Invalid(fields=errors)
    deactivated = desk.active and not data.active
    kept = future_desk_bookings([desk.id]) if deactivated else 0
    with write_transaction(LOCK):
        desk = get_desk(key)
        for name, value in values.items():
            setattr(desk, name, value)
    _forget_cached_layout()
    return Saved(desk, deactivated, kept)


def _room_values(data: RoomInput, errors: Errors) -> dict[str, Any]:
    name = _check_names(data.name_de, data.name_en, errors)
    capacity = _whole_number(data.capacity, "capacity", 1, MAX_CAPACITY, errors)
    attributes = _attributes(data.attributes, data.more_attributes, ROOM_ATTRIBUTES, errors)
    hours = _opening_hours(data.hours, errors)
    x, y = _position(data.x, data.y, errors)
    return {"name": name, "capacity": capacity, "attributes": attributes, "opening_hours": hours,
            "x": x, "y": y, "active": data.active}


def create_room(actor: Actor, floor_key: str, data: RoomInput) -> Saved:
    """A new room on the floor: key (format, unique), name (de required), capacity 1..500,
    attributes, opening hours (valid, non-overlapping ranges), position, active. No calendar."""
    _require_admin(actor)
    floor = get_floor(floor_key)
    errors: Errors = {}
    _check_key(data.key, Room, errors)
    values = _room_values(data, errors)
    if errors:
        raise Invalid(fields=errors)
    with write_transaction(LOCK):
        errors = {}
        _check_key(data.key, Room, errors)  # re-check under the lock
        if errors:
            raise Invalid(fields=errors)
        room = Room(key=data.key, floor_id=floor.id, **values)
        db.session.add(room)
    return Saved(room)


def update_room(actor: Actor, key: str, data: RoomInput) -> Saved:
    """Name, capacity 1..500, attributes, opening hours, position, active; the calendar link stays
    as the site file set it. Deactivating keeps bookings (and reports how many are ahead)."""
    _require_admin(actor)
    room = get_room(key)
    errors: Errors = {}
    values = _room_values(data, errors)
    if errors:
        raise Invalid(fields=errors)
    deactivated = room.active and not data.active
    kept = future_room_bookings([room.id]) if deactivated else 0
    with write_transaction(LOCK):
        room = get_room(key)
        for name, value in values.items():
            setattr(room, name, value)
    return Saved(room, deactivated, kept)
