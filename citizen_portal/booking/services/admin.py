"""Rules for the ``service_admin`` pages: opening hours and closures of locations, services,
qualifications (which staff serve which service where) and staff working hours.

The site file (``flask site load``) remains the source of the set-up: loading it again overwrites
what was edited here. The admin UI edits the same database rows for day-to-day changes (a closure
next week, a longer duration) without a deployment; copy lasting changes back into the site file.

Rules:
- The forms arrive parsed by ``schemas`` (``LocationHours``, ``ServiceForm``, ``StaffForm``): times
  ``HH:MM-HH:MM`` in the site's time zone, sorted and not overlapping per day; closures as sorted
  unique ISO dates; a service's German and English name and its whole-number settings within
  their bounds. Here: the rows they change, and that every chosen location and service exists.
- Qualifications: a staff member serves a set of services at a set of locations (the core model
  stores both sets); a service is offered at a location when that location is among its locations.
- Staff working hours empty means "the location's opening hours".
- Every write runs in ``write_transaction(locks.booking_admin())`` and commits; existing
  appointments are never changed by these edits (they keep their times).
"""

from __future__ import annotations

from sqlalchemy import select

from citizen_portal.booking.models import Location, Service, StaffMember
from citizen_portal.booking.schemas import SERVICE_NUMBERS, LocationHours, ServiceForm, StaffForm
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l


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


def update_location_hours(key: str, form: LocationHours) -> Location:
    """Replace a location's weekly opening hours and its closure dates."""
    with write_transaction(locks.booking_admin()):
        location = get_location(key)
        location.opening_hours = form.week()
        location.closures = list(form.closures)
    return location


def update_service(key: str, form: ServiceForm) -> Service:
    """Store a service's names, texts, durations, limits and locations."""
    with write_transaction(locks.booking_admin()):
        service = get_service(key)
        locations = _locations_by_id(form.locations)
        service.name = {"de": form.name_de, "en": form.name_en}
        service.description = {"de": form.description_de or "", "en": form.description_en or ""}
        service.documents = {"de": list(form.documents_de), "en": list(form.documents_en)}
        for name in SERVICE_NUMBERS:
            setattr(service, name, getattr(form, name))
        service.email_confirmation = form.email_confirmation
        service.active = form.active
        service.locations = locations
    return service


def update_staff(key: str, form: StaffForm) -> StaffMember:
    """Qualifications and working hours of one staff member in one transaction."""
    with write_transaction(locks.booking_admin()):
        member = get_staff(key)
        member.services = _services_by_id(form.services)
        member.locations = _locations_by_id(form.locations)
        member.working_hours = form.week() or None
    return member


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
