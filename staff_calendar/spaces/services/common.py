"""Shared pieces of the spaces rules: the site's settings, closed days, half-day times, actors.

Settings come from ``SiteSettings.settings["spaces"]`` (written by the site loader), read with one
small query. Defaults below apply to missing keys.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from citizen_portal.core import calendar_days
from citizen_portal.core.errors import Forbidden, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone, utc_now
from citizen_portal.core.models import SiteSettings, User
from staff_calendar.calendars.models import CalendarLink

DEFAULTS: dict[str, Any] = {
    "desk_days_per_week": 3,
    "horizon_days": 14,
    # recurring desk bookings may reach further than single ones ("every Tuesday for 8 weeks")
    "series_horizon_days": 63,
    "checkin": False,
    "release_time": "10:00",  # morning and whole-day bookings not checked in are released then
    "afternoon_release_time": "14:00",  # afternoon-only bookings
    "retention_days": 90,
    # local times of the half days, used for calendar events and "is it over yet"
    "morning": "08:00-12:30",
    "afternoon": "12:30-17:00",
    # occupancy figures below this count are shown as "fewer than k" (aggregate, k-anonymous)
    "occupancy_min_count": 3,
    "closures": [],
}

DEFAULT_ROOM_HOURS = ["07:00-19:00"]
PARTS = ("day", "morning", "afternoon")

@dataclass(frozen=True)
class Actor:
    """Who acts: built by the views/API from ``flask_login.current_user``."""

    id: int
    username: str
    display_name: str = ""
    is_admin: bool = False

    @classmethod
    def of(cls, user: Any) -> Actor:
        roles = set(getattr(user, "role_list", ()) or ())
        return cls(id=int(user.id), username=user.username,
                   display_name=getattr(user, "display_name", "") or user.username,
                   is_admin="admin" in roles)


@dataclass(frozen=True)
class SpacesSettings:
    values: dict[str, Any]
    bundesland: str | None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def desk_days_per_week(self) -> float:
        return float(self.values["desk_days_per_week"])

    @property
    def horizon_days(self) -> int:
        return int(self.values["horizon_days"])

    @property
    def series_horizon_days(self) -> int:
        return max(int(self.values["series_horizon_days"]), self.horizon_days)

    @property
    def checkin(self) -> bool:
        return bool(self.values["checkin"])

    @property
    def retention_days(self) -> int:
        return int(self.values["retention_days"])

    def half_range(self, half: str) -> tuple[time, time]:
        return parse_range(str(self.values[half]))

    def closed_days(self) -> set[date]:
        return _expand_closures(self.values.get("closures") or [])


def load_settings() -> SpacesSettings:
    """The site's spaces settings merged over the defaults (one small query)."""
    row = db.session.execute(
        select(SiteSettings.holidays, SiteSettings.settings)
        .order_by(SiteSettings.id).limit(1)
    ).first()
    values = dict(DEFAULTS)
    bundesland = None
    if row is not None:
        settings = row.settings or {}
        values.update({k: v for k, v in (settings.get("spaces") or {}).items() if v is not None})
        # closures may be site-wide ([site] closures) or spaces-only ([site.spaces] closures)
        values["closures"] = list(settings.get("closures") or []) + list(
            (settings.get("spaces") or {}).get("closures") or [])
        bundesland = row.holidays
    return SpacesSettings(values, bundesland)


def _expand_closures(entries: list[Any]) -> set[date]:
    """Closures: ISO dates, ``"2026-12-24..2026-12-31"`` ranges or ``{"from", "to"}`` tables."""
    days: set[date] = set()
    for entry in entries:
        try:
            if isinstance(entry, dict):
                first, last = entry.get("from") or entry.get("start"), entry.get("to") or entry.get("end")
                first_day = date.fromisoformat(str(first))
                last_day = date.fromisoformat(str(last or first))
            elif isinstance(entry, str) and ".." in entry:
                a, b = entry.split("..", 1)
                first_day, last_day = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
            else:
                first_day = last_day = date.fromisoformat(str(entry))
        except (TypeError, ValueError):
            continue
        while first_day <= last_day:
            days.add(first_day)
            first_day += timedelta(days=1)
    return days


def closed_reason(settings: SpacesSettings, day: date, *, closed: set[date] | None = None):
    """Why nobody can book on ``day`` (weekend, public holiday, closure), or None."""
    if day.weekday() >= 5:
        return _l("Wochenende")
    if calendar_days.is_public_holiday(day, settings.bundesland):
        return _l("Feiertag")
    if day in (closed if closed is not None else settings.closed_days()):
        return _l("Geschlossen")
    return None


def parse_range(text: str) -> tuple[time, time]:
    first, last = text.split("-", 1)
    return time.fromisoformat(first.strip()), time.fromisoformat(last.strip())


def local_moment(day: date, moment: time) -> datetime:
    """A local wall-clock time on ``day`` as aware UTC."""
    return datetime.combine(day, moment, tzinfo=site_timezone()).astimezone(UTC)


def now() -> datetime:
    """The spaces package's clock (aware UTC): every "is it over yet" and "which day is today" of the
    desk and room rules reads it, so a test can set one moment for pages and services alike."""
    return utc_now()


def today_local(moment: datetime | None = None) -> date:
    """The site's local date at ``moment`` (default: now)."""
    return (moment or now()).astimezone(site_timezone()).date()


HALVES_OF_PART = {"day": ("morning", "afternoon"), "morning": ("morning",), "afternoon": ("afternoon",)}


def parts_to_halves(part: str) -> tuple[str, ...]:
    """The half days of a part (``schemas.Part``): the whole day is both halves."""
    return HALVES_OF_PART[part]


def week_bounds(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def new_uid() -> str:
    return secrets.token_hex(16)


def user_calendar_key(username: str) -> str | None:
    """The booker's calendar key ``staff:<username>`` if such an active calendar link exists."""
    from staff_calendar.services import calendar_key_for_staff

    key = calendar_key_for_staff(username)
    found = db.session.execute(
        select(CalendarLink.key).where(CalendarLink.key == key, CalendarLink.active.is_(True))
    ).first()
    return key if found else None


Booking = TypeVar("Booking")


def own_booking(actor: Actor, model: type[Booking], booking_id: int) -> Booking:
    """A desk or room booking the actor may change: NotFound when there is no such booking (any more),
    Forbidden unless it is the actor's own or the actor is an admin."""
    booking = db.session.get(model, booking_id)
    if booking is None:
        raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
    if booking.user_id != actor.id and not actor.is_admin:
        raise Forbidden()
    return booking


def username_of(user_id: int) -> str:
    """The username of a user (the calendar key ``staff:<username>`` is made from it)."""
    return db.session.execute(select(User.username).where(User.id == user_id)).scalar_one()
