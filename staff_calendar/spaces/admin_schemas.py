"""Typed input of the admin page "Räume und Plätze" (floors, desks, rooms): the shapes of what an admin
types, every problem reported at once as ``Invalid(fields=...)`` with the field names of the form
(``hours.mon``). The rules that need the database (a key must be new) are in ``services.admin``.

- **Key** (new desks and rooms only; keys never change): ``a-z0-9._-``, starts with a letter or digit,
  at most 64 characters (the site file's key format).
- **Names**: the German name of a floor or room is required (at most 200 characters); the English one
  is optional. A desk's label is optional (at most 100 characters).
- **Desk days per week** of a floor: empty (the site's default) or a whole number 1..7.
- **Attributes**: any of the fixed ones (``DESK_ATTRIBUTES`` / ``ROOM_ATTRIBUTES``) plus free additions
  separated by commas or spaces, each in the key format; stored sorted, without duplicates.
- **Position** ``x``/``y`` on the floor plan: both empty or both numbers within 0..100 (percent).
- **Capacity** of a room: a whole number 1..500.
- **Opening hours** of a room, per weekday: ``"HH:MM-HH:MM"`` ranges separated by commas, start before
  end, not overlapping (touching is fine); all weekdays empty means the default hours.
"""

from __future__ import annotations

import re
from datetime import time
from itertools import pairwise
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, field_validator, model_validator

from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import Flag, InputProblem, Schema, SingleLine, message
from staff_calendar.spaces.schemas import whole_number_in

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
RANGE_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DESK_ATTRIBUTES = ("monitor", "standing", "accessible")
ROOM_ATTRIBUTES = ("projector", "video-conference", "accessible")
MAX_CAPACITY = 500
MAX_DESK_DAYS = 7

KEY_MESSAGE = _l("Bitte geben Sie einen Schlüssel aus Kleinbuchstaben a–z, Ziffern und . _ - an "
                 "(höchstens 64 Zeichen, beginnend mit Buchstabe oder Ziffer).")
POSITION_MESSAGE = _l("Bitte geben Sie eine Zahl von 0 bis 100 an (beide Werte oder keinen).")
RANGE_MESSAGES = {
    "format": _l("Bitte geben Sie Zeiten als „HH:MM-HH:MM“ an, mehrere durch Kommas getrennt, z. B. "
                 "08:00-12:00, 13:00-18:00."),
    "order": _l("Der Beginn muss vor dem Ende liegen."),
    "overlap": _l("Die Zeiträume dürfen sich nicht überschneiden."),
}


def _key(value: Any) -> Any:
    if not isinstance(value, str) or not KEY_PATTERN.match(value.strip()):
        raise InputProblem(KEY_MESSAGE)
    return value.strip()


Key = Annotated[str, BeforeValidator(_key), Field(json_schema_extra=message(KEY_MESSAGE))]

_LONE = object()  # stands in for the missing half of a position, so the error names that field


def _position(value: Any) -> Any:
    try:
        number = float(value.replace(",", ".")) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or not 0 <= number <= 100:
        raise InputProblem(POSITION_MESSAGE)
    return number


Position = Annotated[float, BeforeValidator(_position), Field(json_schema_extra=message(POSITION_MESSAGE))]


def _clock(hours: str, minutes: str) -> time | None:
    hour, minute = int(hours), int(minutes)
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def parse_day_ranges(text: str) -> list[str]:
    """``"08:00-12:00, 13:00-18:00"`` as sorted, normalised ranges; raises ``ValueError`` with a
    reason (``format``, ``order``, ``overlap``) when a range is unreadable, not start before end,
    or overlaps another."""
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


def _day_ranges(value: Any) -> Any:
    try:
        return tuple(parse_day_ranges(value if isinstance(value, str) else ""))
    except ValueError as reason:
        raise InputProblem(RANGE_MESSAGES[str(reason)]) from None


DayRanges = Annotated[tuple[str, ...], BeforeValidator(_day_ranges)]
DeskDays = whole_number_in(1, MAX_DESK_DAYS)
Capacity = whole_number_in(1, MAX_CAPACITY)


class _Placed(Schema):
    """Attributes (fixed checkboxes + free additions), a position on the floor plan, active."""

    FIXED_ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    attributes: list[SingleLine[64]] = []
    more_attributes: SingleLine[500] | None = None
    x: Position | None = None
    y: Position | None = None
    active: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _position_pair(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("x") is None) != (data.get("y") is None):
            data = {**data, ("y" if data.get("y") is None else "x"): _LONE}
        return data

    @field_validator("more_attributes")
    @classmethod
    def _attribute_keys(cls, value: str | None) -> str | None:
        bad = [item for item in _split(value) if not KEY_PATTERN.match(item)]
        if bad:
            raise InputProblem(_l("Nicht als Merkmal möglich: %(values)s. Erlaubt sind Kleinbuchstaben a–z, "
                                  "Ziffern und . _ -, getrennt durch Kommas.", values=", ".join(bad)))
        return value

    @property
    def all_attributes(self) -> list[str]:
        """The fixed attributes ticked (others are ignored) and the free ones, sorted, no repeats."""
        return sorted({a for a in self.attributes if a in self.FIXED_ATTRIBUTES} | set(_split(self.more_attributes)))


def _split(text: str | None) -> list[str]:
    return [item for item in re.split(r"[,;\s]+", (text or "").lower()) if item]


class _Named(Schema):
    name_de: SingleLine[200] = Field(json_schema_extra=message(
        None, missing=_l("Bitte geben Sie den deutschen Namen an.")))
    name_en: SingleLine[200] | None = None

    @property
    def name(self) -> dict[str, str]:
        return {"de": self.name_de, "en": self.name_en} if self.name_en else {"de": self.name_de}


class FloorInput(_Named):
    desk_days_per_week: DeskDays | None = None
    active: Flag = False


class DeskInput(_Placed):
    FIXED_ATTRIBUTES: ClassVar[tuple[str, ...]] = DESK_ATTRIBUTES

    label: SingleLine[100] | None = None


class NewDeskInput(DeskInput):
    key: Key


class RoomInput(_Placed, _Named):
    FIXED_ATTRIBUTES: ClassVar[tuple[str, ...]] = ROOM_ATTRIBUTES

    capacity: Capacity
    hours_mon: DayRanges = Field((), alias="hours.mon")
    hours_tue: DayRanges = Field((), alias="hours.tue")
    hours_wed: DayRanges = Field((), alias="hours.wed")
    hours_thu: DayRanges = Field((), alias="hours.thu")
    hours_fri: DayRanges = Field((), alias="hours.fri")
    hours_sat: DayRanges = Field((), alias="hours.sat")
    hours_sun: DayRanges = Field((), alias="hours.sun")

    @property
    def opening_hours(self) -> dict[str, list[str]] | None:
        """Per weekday its ranges; None (the default hours) when every weekday is empty."""
        hours = {day: list(getattr(self, f"hours_{day}")) for day in WEEKDAYS if getattr(self, f"hours_{day}")}
        return hours or None


class NewRoomInput(RoomInput):
    key: Key
