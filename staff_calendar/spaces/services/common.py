"""Shared pieces of the spaces rules: the site's settings, closed days, half-day times, actors.

Settings are declared once in ``staff_calendar.spaces.settings`` and stored by the site loader in
``SiteSettings.settings["spaces"]``; ``load_settings()`` reads them (one small query) into a
``SpacesContext`` together with the Bundesland and the site-wide closures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from citizen_portal.core import calendar_days
from citizen_portal.core.errors import Forbidden, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone, utc_now
from citizen_portal.core.models import SiteSettings, User
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.settings import DEFAULT_ROOM_HOURS as DEFAULT_ROOM_HOURS
from staff_calendar.spaces.settings import SpacesSettings, parse_range

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
class SpacesContext:
    """What the desk and room rules read from the site: the declared settings (``SpacesSettings``,
    defaults filled in), the Bundesland whose public holidays close every desk and room, and the
    site-wide closure days (``[site] closures``). ``context["release_time"]`` reads a setting."""

    settings: SpacesSettings = field(default_factory=SpacesSettings)
    bundesland: str | None = None
    closures: frozenset[date] = frozenset()

    def __getitem__(self, key: str) -> Any:
        return getattr(self.settings, key)

    @property
    def desk_days_per_week(self) -> float:
        return float(self.settings.desk_days_per_week)

    @property
    def horizon_days(self) -> int:
        return self.settings.horizon_days

    @property
    def series_horizon_days(self) -> int:
        return max(self.settings.series_horizon_days, self.horizon_days)

    @property
    def checkin(self) -> bool:
        return self.settings.checkin

    @property
    def retention_days(self) -> int:
        return self.settings.retention_days

    def half_range(self, half: str) -> tuple[time, time]:
        return parse_range(getattr(self.settings, half))

    def closed_days(self) -> set[date]:
        return set(self.closures)


def load_settings() -> SpacesContext:
    """The site's spaces settings as stored by the site loader, over the declared defaults (one small
    query); keys the declaration does not know are ignored."""
    row = db.session.execute(
        select(SiteSettings.holidays, SiteSettings.settings).order_by(SiteSettings.id).limit(1)
    ).first()
    if row is None:
        return SpacesContext()
    stored = row.settings or {}
    spaces = {key: value for key, value in (stored.get("spaces") or {}).items()
              if key in SpacesSettings.model_fields and value is not None}
    return SpacesContext(SpacesSettings.model_validate(spaces), row.holidays,
                         frozenset(date.fromisoformat(day) for day in stored.get("closures") or []))


def closed_reason(settings: SpacesContext, day: date, *, closed: set[date] | None = None):
    """Why nobody can book on ``day`` (weekend, public holiday, closure), or None."""
    if day.weekday() >= 5:
        return _l("Wochenende")
    if calendar_days.is_public_holiday(day, settings.bundesland):
        return _l("Feiertag")
    if day in (closed if closed is not None else settings.closed_days()):
        return _l("Geschlossen")
    return None


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
