"""Factories for booking tests: a site, a bookable set-up (location, service, staff), appointments.

Each factory flushes and returns; commit yourself when a live server must see the data."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from citizen_portal.booking.models import CONFIRMED, PENDING, Appointment, Location, Service, SlotClaim, StaffMember
from citizen_portal.booking.schemas import Contact
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from tests.factories import make_location, make_service, make_staff

_codes = itertools.count(1)
ALL_WEEK = {day: ["08:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_site(holidays: str | None = "BW", **booking: Any) -> SiteSettings:
    """The site row with only the given booking settings stored (the rest: declared defaults)."""
    settings = {"booking": dict(booking)}
    site = db.session.query(SiteSettings).first()
    if site is None:
        site = SiteSettings(name="Musterhausen", timezone="Europe/Berlin", holidays=holidays, settings=settings)
        db.session.add(site)
    else:
        site.holidays, site.settings = holidays, settings
    db.session.commit()
    return site


def make_setup(staff_count: int = 1, *, opening_hours: dict | None = None, service_kw: dict | None = None,
               site_kw: dict | None = None, holidays: str | None = "BW",
               ) -> tuple[Location, Service, list[StaffMember]]:
    """A location open 08:00-12:00 every day (unless given), a 30-minute service without lead
    time, and ``staff_count`` qualified staff members without calendars."""
    make_site(holidays, **(site_kw or {}))
    location = make_location(opening_hours=opening_hours or dict(ALL_WEEK))
    kw = {"duration_minutes": 30, "min_lead_hours": 0, "horizon_days": 400, **(service_kw or {})}
    service = make_service(locations=[location], **kw)
    staff = [make_staff(locations=[location], services=[service]) for _ in range(staff_count)]
    return location, service, staff


def contact(name: str = "Erika Mustermann", email: str = "erika@example.org", **kw: Any) -> Contact:
    """The citizen's contact data as the booking form and the API parse them (consent given)."""
    return Contact(name=name, email=email, privacy_consent=True, **kw)


def make_appointment(service: Service, location: Location, staff: StaffMember, start: datetime, *,
                     status: str = CONFIRMED, claim: bool | None = None, **kw: Any) -> Appointment:
    end = start + timedelta(minutes=service.duration_minutes)
    kw.setdefault("name", "Erika Mustermann")
    kw.setdefault("email", f"erika{next(_codes)}@example.org")
    appointment = Appointment(
        code=kw.pop("code", f"T{next(_codes):02d}-ABC")[:16], service_id=service.id, location_id=location.id,
        staff_id=staff.id, start_at=start, end_at=end,
        blocked_until=end + timedelta(minutes=service.buffer_minutes), status=status, **kw,
    )
    db.session.add(appointment)
    db.session.commit()
    if claim if claim is not None else status in (CONFIRMED, PENDING):
        db.session.add(SlotClaim(appointment_id=appointment.id, staff_id=staff.id, start_at=start,
                                 blocked_until=appointment.blocked_until))
        db.session.commit()
    return appointment
