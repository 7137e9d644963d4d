"""Form parsing for the booking pages: ``request.form`` → typed values (no rules; those live in
``services``). CSRF is checked for every POST by the app-wide ``CSRFProtect``; every template
form carries ``csrf_token()``.

Each ``parse_*`` function returns the typed value or raises ``Invalid(fields=...)`` with the
field names the templates use for the error summary and the inline messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from werkzeug.datastructures import MultiDict

from citizen_portal.booking.services.admin import ServiceInput, parse_dates, parse_week
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME, MAX_EMAIL, MAX_PHONE, MAX_NOTE = 200, 254, 50, 1000


@dataclass
class BookingForm:
    """What the citizen typed on the booking form."""

    name: str = ""
    email: str = ""
    phone: str = ""
    note: str = ""
    privacy_consent: bool = False
    altcha: str | None = None


def booking_form_from(form: MultiDict) -> BookingForm:
    """Read the booking form without judging it (for re-rendering)."""
    return BookingForm(
        name=(form.get("name") or "").strip(),
        email=(form.get("email") or "").strip(),
        phone=(form.get("phone") or "").strip(),
        note=(form.get("note") or "").strip(),
        privacy_consent=form.get("privacy_consent") in {"1", "on", "yes", "true"},
        altcha=form.get("altcha") or None,
    )


def check_booking_form(data: BookingForm) -> None:
    """Required fields and formats, in form order; raises ``Invalid`` naming every bad field."""
    errors: dict[str, object] = {}
    if not data.name:
        errors["name"] = _l("Bitte geben Sie Ihren Namen an.")
    elif len(data.name) > MAX_NAME:
        errors["name"] = _l("Der Name ist zu lang (höchstens %(n)s Zeichen).", n=MAX_NAME)
    if not data.email:
        errors["email"] = _l("Bitte geben Sie Ihre E-Mail-Adresse an.")
    elif len(data.email) > MAX_EMAIL or not EMAIL.match(data.email):
        errors["email"] = _l("Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de an.")
    if data.phone and (len(data.phone) > MAX_PHONE or not re.fullmatch(r"[0-9+()/ .-]{3,}", data.phone)):
        errors["phone"] = _l("Bitte geben Sie eine Telefonnummer nur mit Ziffern, Leerzeichen und + ( ) / - an.")
    if len(data.note) > MAX_NOTE:
        errors["note"] = _l("Die Anmerkung ist zu lang (höchstens %(n)s Zeichen).", n=MAX_NOTE)
    if not data.privacy_consent:
        errors["privacy_consent"] = _l("Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben.")
    if errors:
        raise Invalid(fields=errors)


def parse_start(value: str | None) -> datetime | None:
    """An ISO 8601 start time with offset from a query string or form (``None`` if absent/bad)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _int(form: MultiDict, name: str, errors: dict[str, object]) -> int:
    raw = (form.get(name) or "").strip()
    try:
        return int(raw)
    except ValueError:
        errors[name] = _l("Bitte eine ganze Zahl angeben.")
        return -1


def _ids(form: MultiDict, name: str) -> list[int]:
    return [int(value) for value in form.getlist(name) if value.isdigit()]


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_service_form(form: MultiDict) -> ServiceInput:
    """The service edit form → ``ServiceInput`` (numbers parsed; ranges are checked by the service)."""
    errors: dict[str, object] = {}
    numbers = {name: _int(form, name, errors) for name in
               ("duration_minutes", "buffer_minutes", "min_lead_hours", "horizon_days", "max_active_per_email")}
    if errors:
        raise Invalid(fields=errors)
    return ServiceInput(
        name_de=(form.get("name_de") or "").strip(),
        name_en=(form.get("name_en") or "").strip(),
        description_de=(form.get("description_de") or "").strip(),
        description_en=(form.get("description_en") or "").strip(),
        documents_de=_lines(form.get("documents_de")),
        documents_en=_lines(form.get("documents_en")),
        email_confirmation=form.get("email_confirmation") == "1",
        active=form.get("active") == "1",
        location_ids=_ids(form, "locations"),
        **numbers,
    )


def parse_hours_form(form: MultiDict) -> dict[str, list[str]]:
    """Seven inputs ``hours.mon`` … ``hours.sun`` → a week of intervals."""
    return parse_week({day: form.get(f"hours.{day}", "") for day in WEEKDAYS}, prefix="hours")


def parse_closures_form(form: MultiDict) -> list[str]:
    return parse_dates(form.get("closures", ""), field_name="closures")


def parse_qualifications_form(form: MultiDict) -> tuple[list[int], list[int]]:
    return _ids(form, "services"), _ids(form, "locations")
