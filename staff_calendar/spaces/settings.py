"""The one declaration of the desk and room settings (``[site] spaces`` in the site file) and of a
room's default opening hours: type, default, allowed range and meaning of each.

The site loader validates the site file with ``SpacesSettings`` and stores every value with the
defaults filled in; the desk and room rules read it through
``staff_calendar.spaces.services.common.load_settings()``, which starts from the same defaults, so a
fresh database and a loaded one behave alike. The README's site-file tables are generated from the
descriptions below."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# a room without opening hours of its own is bookable at these hours on working days (Monday to Friday)
DEFAULT_ROOM_HOURS = ["07:00-19:00"]

_CLOCK = re.compile(r"[0-2]\d:[0-5]\d")


def _clock(text: str) -> time | None:
    try:
        return time.fromisoformat(text) if _CLOCK.fullmatch(text) else None
    except ValueError:
        return None


def parse_range(text: str) -> tuple[time, time]:
    """``"08:00-12:30"`` as (start, end) local times; raises ``ValueError`` unless start < end."""
    first, _, last = text.partition("-")
    start, end = _clock(first), _clock(last)
    if start is None or end is None or start >= end:
        raise ValueError(f"{text!r} is not a time range HH:MM-HH:MM")
    return start, end


def _time_of_day(text: str) -> str:
    if _clock(text) is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return text


def _half_day(text: str) -> str:
    parse_range(text)
    return text


TimeOfDay = Annotated[str, AfterValidator(_time_of_day), Field(title="`HH:MM`")]
HalfDay = Annotated[str, AfterValidator(_half_day), Field(title="`HH:MM-HH:MM`")]


class SpacesSettings(BaseModel):
    """``[site] spaces``: how far ahead and how often desks and rooms can be booked, check-in, retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    desk_days_per_week: int = Field(3, ge=1, le=7, description=(
        "desk days a person may book per week; a floor may override it"))
    horizon_days: int = Field(14, ge=1, le=365, description="how far ahead desks and rooms can be booked")
    series_horizon_days: int = Field(63, ge=1, le=366, description=(
        "how far ahead a recurring desk booking may reach (never less than `horizon_days`)"))
    checkin: bool = Field(False, description="desk bookings must be checked in")
    release_time: TimeOfDay = Field("10:00", description=(
        "with `checkin`: morning and whole-day desk bookings not checked in are released at this time"))
    afternoon_release_time: TimeOfDay = Field("14:00", description=(
        "with `checkin`: afternoon desk bookings not checked in are released at this time"))
    retention_days: int = Field(90, ge=1, le=3650, description="desk and room bookings are erased this many days after")
    morning: HalfDay = Field("08:00-12:30", description=(
        "local times of a morning desk booking: its calendar event, and from its end on it can no longer be booked"))
    afternoon: HalfDay = Field("12:30-17:00", description="local times of an afternoon desk booking, likewise")
    occupancy_min_count: int = Field(3, ge=1, le=100, description=(
        "occupancy figures below this count are shown as \"fewer than\" it (aggregate, k-anonymous)"))
    public_horizon_days: int = Field(90, ge=1, le=366, description=(
        "rooms for citizens: how far ahead a public room can be requested (the last date of a weekly series too)"))
    public_hours_per_month: int = Field(20, ge=1, le=744, description=(
        "rooms for citizens: hours per calendar month one e-mail address, and one organisation, may hold"))
    public_erase_after_days: int = Field(30, ge=1, le=3650, description=(
        "rooms for citizens: the requester's data is erased this many days after the last use"))
    public_verify_hours: int = Field(24, ge=1, le=168, description=(
        "rooms for citizens: an e-mail address not confirmed within this many hours drops the request"))
