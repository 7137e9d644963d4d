"""Parsing of booking input (JSON bodies, query strings, form fields) into typed values.
No rules here: only "is this a date / a time with offset / a string of the right type".
Every failure is an ``Invalid`` naming the field, so the API answers 400 and never 500."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l

BOOKING_FIELDS = {"service", "location", "start", "name", "email", "phone", "note", "privacy_consent",
                  "altcha", "language"}
BOOKING_REQUIRED = ("service", "location", "start", "name", "email", "privacy_consent")
MAX_STRING = 2000


def parse_day(value: Any, field: str) -> date:
    """``YYYY-MM-DD`` → date."""
    if not isinstance(value, str) or len(value) != 10:
        raise Invalid(fields={field: _l("Bitte ein Datum im Format JJJJ-MM-TT angeben.")})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(fields={field: _l("Dieses Datum gibt es nicht.")}) from None


def parse_moment(value: Any, field: str = "start") -> datetime:
    """RFC 3339 date-time with offset (``2026-03-30T09:00:00+02:00`` or ``...Z``) → aware datetime."""
    if not isinstance(value, str) or not (16 <= len(value) <= 40):
        raise Invalid(fields={field: _l("Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben.")})
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(fields={field: _l("Diese Zeit gibt es nicht.")}) from None
    if moment.tzinfo is None or "T" not in text.upper():
        raise Invalid(fields={field: _l("Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben.")})
    return moment


def json_object(body: Any, allowed: set[str]) -> dict[str, Any]:
    """The body must be a JSON object with only ``allowed`` keys."""
    if not isinstance(body, dict):
        raise Invalid(_l("Bitte senden Sie ein JSON-Objekt."))
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Invalid(_l("Unbekannte Felder."), fields={key[:50]: _l("Unbekanntes Feld.") for key in unknown[:20]})
    return body


def optional_string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STRING:
        raise Invalid(fields={key: _l("Bitte einen Text angeben.")})
    return value


def required_string(body: dict[str, Any], key: str) -> str:
    value = optional_string(body, key)
    if value is None:
        raise Invalid(fields={key: _l("Dieses Feld ist erforderlich.")})
    return value


def booking_body(body: Any) -> dict[str, Any]:
    """POST /api/v1/appointments body → typed values (``start`` aware datetime, consent bool)."""
    body = json_object(body, BOOKING_FIELDS)
    missing = [key for key in BOOKING_REQUIRED if key not in body]
    if missing:
        raise Invalid(fields={key: _l("Dieses Feld ist erforderlich.") for key in missing})
    consent = body["privacy_consent"]
    if not isinstance(consent, bool):
        raise Invalid(fields={"privacy_consent": _l("Bitte true oder false angeben.")})
    return {
        "service": required_string(body, "service"),
        "location": required_string(body, "location"),
        "start": parse_moment(body["start"]),
        "name": required_string(body, "name"),
        "email": required_string(body, "email"),
        "phone": optional_string(body, "phone"),
        "note": optional_string(body, "note"),
        "privacy_consent": consent,
        "altcha": optional_string(body, "altcha"),
        "language": optional_string(body, "language"),
    }


def form_consent(value: str | None) -> bool:
    """HTML checkbox → bool."""
    return value in {"on", "1", "true", "yes"}
