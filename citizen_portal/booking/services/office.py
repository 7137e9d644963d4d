"""What a citizen needs to know about the office of an appointment, from the site file.

Rules:
- Phone and e-mail of a location are its own (``[[locations]] phone/email``) or else the site's
  (``[site] contact``); mails answer to that e-mail (``Reply-To``).
- The map link is an OpenStreetMap search for the address (a link, never an embedded map: no
  third-party request from our pages).
- Texts in the current language, German as the fallback (``core.i18n.localized``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select

from citizen_portal.booking.models import Location, Service
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import localized
from citizen_portal.core.models import SiteSettings

OSM_SEARCH = "https://www.openstreetmap.org/search?query="


@dataclass(frozen=True)
class OfficeInfo:
    """Everything the booked page, the mails and the calendar file tell about the visit."""

    site_name: str
    address: str
    map_url: str | None
    phone: str
    email: str
    step_free: str
    payment: str
    fees: str
    documents: list[str]


_SITE_CONTACT = select(SiteSettings.name, SiteSettings.settings).order_by(SiteSettings.id).limit(1)  # built once


def site_contact() -> tuple[str, dict[str, str]]:
    """The site's name and ``[site] contact`` (empty without a loaded site file)."""
    row = db.session.execute(_SITE_CONTACT).first()
    if row is None:
        return "", {}
    name, settings = row
    return name, dict((settings or {}).get("contact") or {})


def office_info(service: Service, location: Location) -> OfficeInfo:
    """The office facts for ``service`` at ``location`` in the current language."""
    site_name, contact = site_contact()
    info, service_info = location.info or {}, service.info or {}
    documents = service.documents or {}
    return OfficeInfo(
        site_name=site_name,
        address=location.address or "",
        map_url=OSM_SEARCH + quote(location.address) if location.address else None,
        phone=info.get("phone") or contact.get("phone") or "",
        email=info.get("email") or contact.get("email") or "",
        step_free=localized(info.get("step_free")),
        payment=localized(info.get("payment")),
        fees=localized(service_info.get("fees")),
        documents=list(localized(documents) or []) if documents else [],
    )
