"""What an admin typed on the page "Räume und Plätze", parsed and checked (rules: see
``staff_calendar.spaces.services.admin``). Every check adds to ``errors`` instead of raising, so
one save reports every problem at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from itertools import pairwise
from typing import Any

from sqlalchemy import select

from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from staff_calendar.spaces.models import Desk, Floor, Room

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
RANGE_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DESK_ATTRIBUTES = ("monitor", "standing", "accessible")
ROOM_ATTRIBUTES = ("projector", "video-conference", "accessible")
MAX_CAPACITY = 500
MAX_DESK_DAYS = 7
NAME_LENGTH = 200
LABEL_LENGTH = 100

Errors = dict[str, Any]


Errors = dict[str, Any]


# --- inputs (texts as entered) ---------------------------------------------------------------------

def text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def text_list(values: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(values, "getlist", None)
    items = getlist(name) if getlist else values.get(name) or []
    if isinstance(items, str):
        items = [items]
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


def flag(values: Mapping[str, Any], name: str) -> bool:
    return values.get(name) not in (None, "", "0", "false", "off")


@dataclass
class FloorInput:
    name_de: str = ""
    name_en: str = ""
    desk_days_per_week: str = ""
    active: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FloorInput:
        return cls(text(values, "name_de"), text(values, "name_en"), text(values, "desk_days_per_week"),
                   flag(values, "active"))

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
        return cls(text(values, "key"), text(values, "label"), text_list(values, "attributes"),
                   text(values, "more_attributes"), text(values, "x"), text(values, "y"), flag(values, "active"))

    @classmethod
    def of(cls, desk: Desk) -> DeskInput:
        fixed, more = split_attributes(desk.attributes or [], DESK_ATTRIBUTES)
        return cls(desk.key, desk.label or "", fixed, more, number_text(desk.x), number_text(desk.y), desk.active)


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
        return cls(text(values, "key"), text(values, "name_de"), text(values, "name_en"),
                   text(values, "capacity"), text_list(values, "attributes"), text(values, "more_attributes"),
                   {day: text(values, f"hours.{day}") for day in WEEKDAYS},
                   text(values, "x"), text(values, "y"), flag(values, "active"))

    @classmethod
    def of(cls, room: Room) -> RoomInput:
        fixed, more = split_attributes(room.attributes or [], ROOM_ATTRIBUTES)
        name = room.name or {}
        hours = {day: ", ".join((room.opening_hours or {}).get(day) or []) for day in WEEKDAYS}
        return cls(room.key, name.get("de", ""), name.get("en", ""), str(room.capacity), fixed, more, hours,
                   number_text(room.x), number_text(room.y), room.active)


def split_attributes(attributes: list[str], fixed: tuple[str, ...]) -> tuple[list[str], str]:
    return [a for a in attributes if a in fixed], ", ".join(a for a in attributes if a not in fixed)


def number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


# --- checks ----------------------------------------------------------------------------------------

def check_key(key: str, model: type, errors: Errors) -> None:
    if not KEY_PATTERN.match(key):
        errors["key"] = _l("Bitte geben Sie einen Schlüssel aus Kleinbuchstaben a–z, Ziffern und . _ - an "
                           "(höchstens 64 Zeichen, beginnend mit Buchstabe oder Ziffer).")
    elif db.session.execute(select(model.id).where(model.key == key)).first() is not None:
        errors["key"] = _l("Diesen Schlüssel gibt es schon.")


def check_names(name_de: str, name_en: str, errors: Errors) -> dict[str, str]:
    if not name_de:
        errors["name_de"] = _l("Bitte geben Sie den deutschen Namen an.")
    elif len(name_de) > NAME_LENGTH:
        errors["name_de"] = _l("Höchstens %(n)s Zeichen.", n=NAME_LENGTH)
    if len(name_en) > NAME_LENGTH:
        errors["name_en"] = _l("Höchstens %(n)s Zeichen.", n=NAME_LENGTH)
    return {"de": name_de, "en": name_en} if name_en else {"de": name_de}


def whole_number(text: str, name: str, minimum: int, maximum: int, errors: Errors) -> int | None:
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        errors[name] = _l("Bitte geben Sie eine ganze Zahl von %(min)s bis %(max)s an.", min=minimum, max=maximum)
        return None
    return number


def checked_attributes(fixed: list[str], more: str, allowed: tuple[str, ...], errors: Errors) -> list[str]:
    values = {a for a in fixed if a in allowed}
    extra = [item for item in re.split(r"[,;\s]+", more.lower()) if item]
    bad = [item for item in extra if not KEY_PATTERN.match(item)]
    if bad:
        errors["more_attributes"] = _l("Nicht als Merkmal möglich: %(values)s. Erlaubt sind Kleinbuchstaben a–z, "
                                       "Ziffern und . _ -, getrennt durch Kommas.", values=", ".join(bad))
    values.update(item for item in extra if KEY_PATTERN.match(item))
    return sorted(values)


def position(x_text: str, y_text: str, errors: Errors) -> tuple[float | None, float | None]:
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


def clock(hours: str, minutes: str) -> time | None:
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
        first = clock(match.group(1), match.group(2)) if match else None
        last = clock(match.group(3), match.group(4)) if match else None
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


def opening_hours(hours: dict[str, str], errors: Errors) -> dict[str, list[str]] | None:
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
