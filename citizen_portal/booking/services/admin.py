"""Rules for the ``service_admin`` pages: opening hours and closures of locations, services,
qualifications (which staff serve which service where) and staff working hours.

The site file (``flask site load``) remains the source of the set-up: loading it again overwrites
what was edited here. The admin UI edits the same database rows for day-to-day changes (a closure
next week, a longer duration) without a deployment; copy lasting changes back into the site file.

Rules:
- Times are ``HH:MM-HH:MM`` in the site's time zone, start before end, intervals of one day sorted
  and not overlapping; weekday keys are ``mon`` … ``sun``.
- Closures are ISO dates (``YYYY-MM-DD``), stored sorted and without duplicates.
- A service has a German and an English name; duration 5–480 minutes, buffer 0–240 minutes,
  minimum lead time 0–720 hours, horizon 1–365 days, at most 1–20 active appointments per address.
- Qualifications: a staff member serves a set of services at a set of locations (the core model
  stores both sets); a service is offered at a location when that location is among its locations.
- Staff working hours empty means "the location's opening hours".
- Every write runs in ``write_transaction("booking-admin")`` and commits; existing appointments
  are never changed by these edits (they keep their times).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

from sqlalchemy import select

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l

LOCK = "booking-admin"
_INTERVAL = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]?\d|2[0-4]):([0-5]\d)$")

LIMITS = {
    "duration_minutes": (5, 480),
    "buffer_minutes": (0, 240),
    "min_lead_hours": (0, 720),
    "horizon_days": (1, 365),
    "max_active_per_email": (1, 20),
}


def parse_intervals(text: str) -> list[str]:
    """``"08:00-12:00, 13:00-16:00"`` → ``["08:00-12:00", "13:00-16:00"]``; raises ``ValueError``.

    Separators: comma, semicolon or new line. Intervals are sorted and must not overlap."""
    parts = [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]
    intervals: list[tuple[int, int]] = []
    for part in parts:
        match = _INTERVAL.match(part)
        if not match:
            raise ValueError(part)
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        if end > 24 * 60 or start >= end:
            raise ValueError(part)
        intervals.append((start, end))
    intervals.sort()
    for (_, previous_end), (start, _) in pairwise(intervals):
        if start < previous_end:
            raise ValueError("overlap")
    return [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in intervals]


def parse_week(texts: dict[str, str], prefix: str = "hours") -> dict[str, list[str]]:
    """Seven weekday texts (``texts["mon"]`` …) → a week of intervals; errors name ``<prefix>.<day>``."""
    week: dict[str, list[str]] = {}
    errors: dict[str, object] = {}
    for day in WEEKDAYS:
        try:
            intervals = parse_intervals(texts.get(day, ""))
        except ValueError:
            errors[f"{prefix}.{day}"] = _l("Bitte Zeiten wie 08:00-12:00, 13:00-16:00 angeben, ohne Überschneidung.")
            continue
        if intervals:
            week[day] = intervals
    if errors:
        raise Invalid(fields=errors)
    return week


def parse_dates(text: str, field_name: str = "closures") -> list[str]:
    """One ISO date per line (or comma-separated) → sorted unique ISO strings; raises ``Invalid``."""
    result: set[str] = set()
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        try:
            result.add(date.fromisoformat(part).isoformat())
        except ValueError:
            raise Invalid(fields={field_name: _l("„%(value)s“ ist kein Datum im Format JJJJ-MM-TT.", value=part)}) \
                from None
    return sorted(result)


@dataclass
class ServiceInput:
    """The editable fields of a service, parsed from a form."""

    name_de: str
    name_en: str
    description_de: str = ""
    description_en: str = ""
    documents_de: list[str] = field(default_factory=list)
    documents_en: list[str] = field(default_factory=list)
    duration_minutes: int = 15
    buffer_minutes: int = 0
    min_lead_hours: int = 2
    horizon_days: int = 60
    email_confirmation: bool = False
    max_active_per_email: int = 1
    active: bool = True
    location_ids: list[int] = field(default_factory=list)


def list_locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.key)))


def list_services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.key)))


def list_staff() -> list[StaffMember]:
    return list(db.session.scalars(select(StaffMember).order_by(StaffMember.name)))


def get_location(key: str) -> Location:
    location = db.session.scalar(select(Location).where(Location.key == key))
    if location is None:
        raise NotFound()
    return location


def get_service(key: str) -> Service:
    service = db.session.scalar(select(Service).where(Service.key == key))
    if service is None:
        raise NotFound()
    return service


def get_staff(key: str) -> StaffMember:
    member = db.session.scalar(select(StaffMember).where(StaffMember.key == key))
    if member is None:
        raise NotFound()
    return member


def update_location_hours(key: str, opening_hours: dict[str, list[str]], closures: list[str]) -> Location:
    """Replace a location's weekly opening hours and its closure dates (already parsed)."""
    _check_week(opening_hours, "hours")
    for value in closures:
        date.fromisoformat(value)
    with write_transaction(LOCK):
        location = get_location(key)
        location.opening_hours = {day: list(opening_hours[day]) for day in WEEKDAYS if opening_hours.get(day)}
        location.closures = sorted(set(closures))
    return location


def update_service(key: str, data: ServiceInput) -> Service:
    """Validate and store a service's names, texts, durations, limits and locations."""
    errors: dict[str, object] = {}
    if not data.name_de.strip():
        errors["name_de"] = _l("Bitte geben Sie einen deutschen Namen an.")
    if not data.name_en.strip():
        errors["name_en"] = _l("Bitte geben Sie einen englischen Namen an.")
    for name, (low, high) in LIMITS.items():
        value = getattr(data, name)
        if not isinstance(value, int) or not low <= value <= high:
            errors[name] = _l("Bitte eine ganze Zahl von %(low)s bis %(high)s angeben.", low=low, high=high)
    if errors:
        raise Invalid(fields=errors)
    with write_transaction(LOCK):
        service = get_service(key)
        locations = _locations_by_id(data.location_ids)
        service.name = {"de": data.name_de.strip(), "en": data.name_en.strip()}
        service.description = {"de": data.description_de.strip(), "en": data.description_en.strip()}
        service.documents = {"de": _clean_lines(data.documents_de), "en": _clean_lines(data.documents_en)}
        for name in LIMITS:
            setattr(service, name, getattr(data, name))
        service.email_confirmation = bool(data.email_confirmation)
        service.active = bool(data.active)
        service.locations = locations
    return service


def update_qualifications(key: str, service_ids: list[int], location_ids: list[int]) -> StaffMember:
    """Set which services a staff member serves and at which locations."""
    with write_transaction(LOCK):
        member = get_staff(key)
        member.services = _services_by_id(service_ids)
        member.locations = _locations_by_id(location_ids)
    return member


def update_staff_hours(key: str, working_hours: dict[str, list[str]] | None) -> StaffMember:
    """Set a staff member's weekly working hours; ``None`` or empty: the locations' opening hours."""
    if working_hours:
        _check_week(working_hours, "hours")
    with write_transaction(LOCK):
        member = get_staff(key)
        member.working_hours = (
            {day: list(working_hours[day]) for day in WEEKDAYS if working_hours.get(day)} if working_hours else None
        )
    return member


def update_staff(key: str, service_ids: list[int], location_ids: list[int],
                 working_hours: dict[str, list[str]] | None) -> StaffMember:
    """Qualifications and working hours of one staff member in one transaction."""
    if working_hours:
        _check_week(working_hours, "hours")
    with write_transaction(LOCK):
        member = get_staff(key)
        member.services = _services_by_id(service_ids)
        member.locations = _locations_by_id(location_ids)
        member.working_hours = (
            {day: list(working_hours[day]) for day in WEEKDAYS if working_hours.get(day)} if working_hours else None
        )
    return member


def week_as_texts(week: dict[str, list[str]] | None) -> dict[str, str]:
    """The inverse of ``parse_week`` for pre-filling forms."""
    return {day: ", ".join((week or {}).get(day, [])) for day in WEEKDAYS}


def _check_week(week: dict[str, list[str]], prefix: str) -> None:
    errors: dict[str, object] = {}
    for day, intervals in week.items():
        if day not in WEEKDAYS:
            errors[f"{prefix}.{day}"] = _l("Unbekannter Wochentag.")
            continue
        try:
            if parse_intervals(", ".join(intervals)) != sorted(intervals):
                raise ValueError(day)
        except ValueError:
            errors[f"{prefix}.{day}"] = _l("Bitte Zeiten wie 08:00-12:00, 13:00-16:00 angeben, ohne Überschneidung.")
    if errors:
        raise Invalid(fields=errors)


def _clean_lines(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line and line.strip()]


def _locations_by_id(ids: list[int]) -> list[Location]:
    if not ids:
        return []
    found = list(db.session.scalars(select(Location).where(Location.id.in_(ids)).order_by(Location.key)))
    if len(found) != len(set(ids)):
        raise Invalid(fields={"locations": _l("Unbekannter Standort.")})
    return found


def _services_by_id(ids: list[int]) -> list[Service]:
    if not ids:
        return []
    found = list(db.session.scalars(select(Service).where(Service.id.in_(ids)).order_by(Service.key)))
    if len(found) != len(set(ids)):
        raise Invalid(fields={"services": _l("Unbekannte Leistung.")})
    return found
