"""Applying a validated site file to the database: ``apply_site(parsed) -> ChangeReport``.

Rules enforced:
- idempotent: rows are matched by ``key``; a second load of the same file changes nothing and
  reports no changes;
- nothing is ever deleted: an entry missing from the file is deactivated (``active=False``), so
  bookings that refer to it stay intact; an entry that comes back is reactivated;
- one transaction (``write_transaction("site-load")``): a failure leaves the database unchanged;
- calendar links get the keys ``staff:<key>`` and ``room:<key>``; when a link's URL changes its
  discovered ``resolved_url`` is reset; secrets are stored only by reference (``secret_env`` /
  ``secret_file``);
- ``[site]`` extras (legal texts, booking and spaces settings) are stored with their defaults
  filled in under ``SiteSettings.settings``, so readers never need their own defaults;
- the report never shows staff names or email addresses, only that they changed.

Note on import direction: this loader is the one place in ``citizen_portal`` that writes
``staff_calendar`` models (calendar links, floors, desks, rooms), because the site file owns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.booking.settings import ServiceSettings
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from citizen_portal.site.schema import CalendarSpec, SiteFile, SiteSection
from citizen_portal.site.schema.models import LOCATION_INFO, SERVICE_INFO
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import Desk, Floor, Room

PRIVATE_FIELDS = {"name", "email"}  # staff fields whose values the report never shows


@dataclass
class Change:
    """One created (``+``), updated (``~``) or deactivated (``-``) entry."""

    sign: str
    kind: str
    key: str
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.sign == "-":
            return f"- {self.kind} {self.key} (deactivated)"
        if self.sign == "~":
            return f"~ {self.kind} {self.key}: {'; '.join(self.details)}"
        return f"+ {self.kind} {self.key}"


@dataclass
class ChangeReport:
    changes: list[Change] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.changes)

    def lines(self) -> list[str]:
        return [str(change) for change in self.changes]

    def summary(self) -> str:
        if not self.changes:
            return "no changes"
        return "1 change" if len(self.changes) == 1 else f"{len(self.changes)} changes"


# --------------------------------------------------------------------------- diffing helpers


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        result: dict[str, Any] = {}
        for key, item in value.items():
            result.update(_flatten(item, f"{prefix}.{key}"))
        return result
    return {prefix: value}


def _assign(row: Any, values: dict[str, Any], private: frozenset[str] = frozenset()) -> list[str]:
    """Set each attribute that differs; return ``field old -> new`` lines (nested dicts by dotted key)."""
    details: list[str] = []
    for name, new in values.items():
        old = getattr(row, name)
        if old == new:
            continue
        setattr(row, name, new)
        if name in private:
            details.append(f"{name} (changed)")
            continue
        old_flat, new_flat = _flatten(old, name), _flatten(new, name)
        for key in sorted(set(old_flat) | set(new_flat)):
            if old_flat.get(key) != new_flat.get(key):
                details.append(f"{key} {_show(old_flat.get(key))} -> {_show(new_flat.get(key))}")
    return details


def _assign_keys(row: Any, name: str, targets: list[Any]) -> list[str]:
    """Replace a many-to-many collection when the set of keys differs."""
    old = sorted(item.key for item in getattr(row, name))
    new = sorted(item.key for item in targets)
    if old == new:
        return []
    setattr(row, name, list(targets))
    return [f"{name} {', '.join(old) or '-'} -> {', '.join(new) or '-'}"]


class _Applier:
    """Upserts rows of one kind by key and records the changes."""

    def __init__(self, report: ChangeReport) -> None:
        self.report = report

    def upsert(self, model: type, kind: str, key: str, values: dict[str, Any],
               private: frozenset[str] = frozenset()) -> tuple[Any, Change | None]:
        row = db.session.execute(select(model).where(model.key == key)).scalar_one_or_none()
        if row is None:
            row = model(key=key, **values)
            if hasattr(model, "active"):
                row.active = True
            db.session.add(row)
            change = Change("+", kind, key)
            self.report.changes.append(change)
            return row, change
        details = _assign(row, {**values, "active": True} if hasattr(model, "active") else values, private)
        change = Change("~", kind, key, details)
        if details:
            self.report.changes.append(change)
        return row, change

    def add_details(self, change: Change | None, details: list[str]) -> None:
        """Attach association changes to an update (creations report only ``+``)."""
        if change is None or not details or change.sign == "+":
            return
        change.details.extend(details)
        if change not in self.report.changes:
            self.report.changes.append(change)

    def deactivate_missing(self, model: type, kind: str, keys: set[str], **filters: Any) -> None:
        """Deactivate (never delete) active rows whose key is not in the file."""
        query = select(model).where(model.active.is_(True))
        for column, value in filters.items():
            query = query.where(getattr(model, column) == value)
        for row in db.session.execute(query.order_by(model.key)).scalars():
            if row.key not in keys:
                row.active = False
                self.report.changes.append(Change("-", kind, row.key))


# --------------------------------------------------------------------------- sections


def site_settings_json(site: SiteSection) -> dict[str, Any]:
    """What goes into ``SiteSettings.settings``: legal texts, booking and spaces settings."""
    return {"legal": site.legal.model_dump(exclude_none=True), "contact": site.contact.model_dump(),
            "booking": site.booking.model_dump(),
            "spaces": site.spaces.model_dump(), "closures": site.closures}


def _apply_site_section(applier: _Applier, site: SiteSection) -> None:
    row = db.session.execute(select(SiteSettings).order_by(SiteSettings.id)).scalars().first()
    values = {"name": site.name, "timezone": site.timezone, "holidays": site.holidays,
              "settings": site_settings_json(site)}
    if row is None:
        db.session.add(SiteSettings(**values))
        applier.report.changes.append(Change("+", "site", "settings"))
        return
    details = _assign(row, values)
    if details:
        applier.report.changes.append(Change("~", "site", "settings", details))


def _apply_locations(applier: _Applier, parsed: SiteFile) -> dict[str, Location]:
    rows = {}
    for spec in parsed.locations:
        rows[spec.key], _ = applier.upsert(Location, "location", spec.key, {
            "name": spec.name, "address": spec.address, "opening_hours": spec.opening_hours,
            "closures": spec.closures, "info": spec.model_dump(include=set(LOCATION_INFO), exclude_defaults=True)})
    applier.deactivate_missing(Location, "location", set(rows))
    return rows


def _apply_services(applier: _Applier, parsed: SiteFile, locations: dict[str, Location]) -> dict[str, Service]:
    rows = {}
    for spec in parsed.services:
        row, change = applier.upsert(Service, "service", spec.key, {
            "name": spec.name, "description": spec.description, "documents": spec.documents,
            "info": spec.model_dump(include=set(SERVICE_INFO), exclude_defaults=True),
            **spec.model_dump(include=set(ServiceSettings.model_fields))})
        applier.add_details(change, _assign_keys(row, "locations", [locations[key] for key in spec.locations]))
        rows[spec.key] = row
    applier.deactivate_missing(Service, "service", set(rows))
    return rows


def _apply_calendar(applier: _Applier, owner_kind: str, owner_key: str, spec: CalendarSpec | None) -> str | None:
    """Create or update the owner's calendar link; without a calendar, deactivate an old one."""
    key = f"{owner_kind}:{owner_key}"
    if spec is None:
        applier.deactivate_missing(CalendarLink, "calendar", set(), key=key)
        return None
    existing = db.session.execute(select(CalendarLink).where(CalendarLink.key == key)).scalar_one_or_none()
    values: dict[str, Any] = {"owner_kind": owner_kind, "owner_key": owner_key, "url": spec.url,
                              "username": spec.username, "secret_env": spec.password_env,
                              "secret_file": spec.password_file}
    if existing is not None and existing.url != spec.url:
        values["resolved_url"] = None
    applier.upsert(CalendarLink, "calendar", key, values)
    return key


def _deactivate_links_of_removed(applier: _Applier, model: type, owner_kind: str, keys: set[str]) -> None:
    """Deactivate the calendar links of staff members or rooms the file no longer names. Links of
    other owners (e.g. a desk user's own calendar, made by another module) are left alone."""
    removed = set(db.session.execute(select(model.key)).scalars()) - keys
    for key in sorted(removed):
        applier.deactivate_missing(CalendarLink, "calendar", set(), key=f"{owner_kind}:{key}")


def _apply_staff(applier: _Applier, parsed: SiteFile, locations: dict[str, Location],
                 services: dict[str, Service]) -> None:
    keys = set()
    for spec in parsed.staff:
        calendar_key = _apply_calendar(applier, "staff", spec.key, spec.calendar)
        db.session.flush()  # the link must exist before a member refers to it
        row, change = applier.upsert(StaffMember, "staff", spec.key, {
            "name": spec.name, "email": spec.email, "working_hours": spec.working_hours,
            "calendar_key": calendar_key}, private=frozenset(PRIVATE_FIELDS))
        applier.add_details(change, _assign_keys(row, "locations", [locations[key] for key in spec.locations]))
        applier.add_details(change, _assign_keys(row, "services", [services[key] for key in spec.services]))
        keys.add(spec.key)
    applier.deactivate_missing(StaffMember, "staff", keys)
    _deactivate_links_of_removed(applier, StaffMember, "staff", keys)


def _apply_spaces(applier: _Applier, parsed: SiteFile) -> None:
    floors: dict[str, Floor] = {}
    for spec in parsed.floors:
        floors[spec.key], _ = applier.upsert(Floor, "floor", spec.key, {
            "name": spec.name, "desk_days_per_week": spec.desk_days_per_week})
    db.session.flush()
    for spec in parsed.desks:
        applier.upsert(Desk, "desk", spec.key, {
            "floor_id": floors[spec.floor].id, "label": spec.label, "attributes": spec.attributes,
            "x": spec.x, "y": spec.y})
    rooms = set()
    for spec in parsed.rooms:
        calendar_key = _apply_calendar(applier, "room", spec.key, spec.calendar)
        db.session.flush()
        applier.upsert(Room, "room", spec.key, {
            "floor_id": floors[spec.floor].id, "name": spec.name, "capacity": spec.capacity,
            "attributes": spec.attributes, "opening_hours": spec.opening_hours, "calendar_key": calendar_key,
            "x": spec.x, "y": spec.y, "public": spec.public.model_dump() if spec.public else None})
        rooms.add(spec.key)
    applier.deactivate_missing(Floor, "floor", set(floors))
    applier.deactivate_missing(Desk, "desk", {spec.key for spec in parsed.desks})
    applier.deactivate_missing(Room, "room", rooms)
    _deactivate_links_of_removed(applier, Room, "room", rooms)


def apply_site(parsed: SiteFile) -> ChangeReport:
    """Create or update everything in the validated file, deactivate what it no longer names,
    all in one transaction; return the changes in file order (site, locations, services, staff,
    floors, desks, rooms; calendar links next to their owner)."""
    report = ChangeReport()
    applier = _Applier(report)
    with write_transaction("site-load"):
        _apply_site_section(applier, parsed.site)
        locations = _apply_locations(applier, parsed)
        services = _apply_services(applier, parsed, locations)
        db.session.flush()
        _apply_staff(applier, parsed, locations, services)
        _apply_spaces(applier, parsed)
    return report
