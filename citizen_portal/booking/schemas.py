"""Typed input of appointment booking, on ``citizen_portal.core.schemas``: the citizen's booking form
and ``POST /api/v1/appointments``, the chosen time of the booking page, the move form and
``PATCH``, the empty bodies of cancel and confirm, the API's slot query and the ``service_admin``
forms. The HTML forms and the JSON API parse through these models, so a field's message is the same
on the page and in the API's ``fields``.

Only shapes live here ("a single line of at most 200 characters", "an e-mail address", "times like
08:00-12:00"); which times are free and who may change what is decided in ``services``.
A blank value (``""``, spaces, ``null``) counts as absent in a JSON body exactly as in a form, where
``parse_form`` leaves blank fields out: both get the field's "missing" message.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from citizen_portal.core import schemas as core_schemas
from citizen_portal.core.calendar_days import WEEKDAYS
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import (
    Day,
    Email,
    Flag,
    Id,
    InputProblem,
    Moment,
    MultiLine,
    Schema,
    SingleLine,
    message,
)

KEY_LENGTH = 64  # service and location keys
CHOOSE_TIME = message(None, missing=_l("Bitte wählen Sie eine Uhrzeit."))
CONSENT = _l("Bitte bestätigen Sie, dass Sie die Datenschutzhinweise gelesen haben.")
HOURS_PROBLEM = _l("Bitte Zeiten wie 08:00-12:00, 13:00-16:00 angeben, ohne Überschneidung.")


class Input(Schema):
    """Base of booking's input models: blank values are absent (see the module docstring)."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items()
                    if value is not None and not (isinstance(value, str) and not value.strip())}
        return data


# --------------------------------------------------------------------------- field types


def _phone(value: str) -> str:
    if not re.fullmatch(r"[0-9+()/ .-]{3,}", value):
        raise InputProblem(_l("Bitte geben Sie eine Telefonnummer nur mit Ziffern, Leerzeichen und + ( ) / - an."))
    return value


Phone = Annotated[SingleLine[50], AfterValidator(_phone)]


def _ticked(value: bool) -> bool:
    if value is not True:
        raise InputProblem(CONSENT)
    return value


Consent = Annotated[Flag, AfterValidator(_ticked)]  # a checkbox that must be ticked


def _plus_from_query(value: Any) -> Any:
    """A ``+`` typed into a query string (``?start=...T09:00:00+01:00``) arrives as a space."""
    return value.strip().replace(" ", "+") if isinstance(value, str) else value


SlotStart = Annotated[Moment, BeforeValidator(_plus_from_query)]

_INTERVAL = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]?\d|2[0-4]):([0-5]\d)")


def parse_intervals(text: str) -> list[str]:
    """``"13:00-16:00, 8:00-12:00"`` → ``["08:00-12:00", "13:00-16:00"]``: separated by comma,
    semicolon or line break, each start before its end (``24:00`` ends the day), sorted, not
    overlapping; ``ValueError`` otherwise."""
    minutes: list[tuple[int, int]] = []
    for part in (part.strip() for part in re.split(r"[,;\n]", text or "")):
        match = _INTERVAL.fullmatch(part) if part else None
        if part and match is None:
            raise ValueError(part)
        if match:
            start = int(match.group(1)) * 60 + int(match.group(2))
            end = int(match.group(3)) * 60 + int(match.group(4))
            if end > 24 * 60 or start >= end:
                raise ValueError(part)
            minutes.append((start, end))
    minutes.sort()
    if any(start < previous_end for (_, previous_end), (start, _) in pairwise(minutes)):
        raise ValueError("overlap")
    return [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in minutes]


def _intervals(value: Any) -> Any:
    """One day's times from a form's text field, or from a list of ``HH:MM-HH:MM`` strings."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return value  # not text: pydantic's list[str] error
    try:
        return parse_intervals(", ".join(value))
    except ValueError:
        raise InputProblem(HOURS_PROBLEM) from None


Intervals = Annotated[list[str], BeforeValidator(_intervals)]


def _dates(value: Any) -> Any:
    """Dates separated by line breaks, commas or spaces → sorted unique ``YYYY-MM-DD`` strings."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "\n".join(value)
    if not isinstance(value, str):
        return value
    days: set[str] = set()
    for part in re.split(r"[,;\s]+", value):
        if not part:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d", part):
                raise ValueError(part)
            days.add(date.fromisoformat(part).isoformat())
        except ValueError:
            raise InputProblem(_l("„%(value)s“ ist kein Datum im Format JJJJ-MM-TT.", value=part[:20])) from None
    return sorted(days)


Dates = Annotated[list[str], BeforeValidator(_dates)]


def _lines(value: Any) -> Any:
    """A text area, one entry per line (or a list of entries): blank lines dropped."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return value
    return [line.strip() for item in value for line in item.splitlines() if line.strip()]


Lines = Annotated[list[SingleLine[300]], BeforeValidator(_lines), Field(max_length=50)]



def _between(low: int, high: int) -> Any:
    """A whole number from ``low`` to ``high`` (inclusive), with one message for any problem."""
    problem = _l("Bitte eine ganze Zahl von %(low)s bis %(high)s angeben.", low=low, high=high)
    return Annotated[core_schemas.WholeNumber, Field(ge=low, le=high, json_schema_extra=message(problem))]


# a service's whole-number settings (the admin page shows the same bounds)
DurationMinutes, BufferMinutes = _between(5, 480), _between(0, 240)
LeadHours, HorizonDays, ActivePerEmail = _between(0, 720), _between(1, 365), _between(1, 20)
SERVICE_NUMBERS = ("duration_minutes", "buffer_minutes", "min_lead_hours", "horizon_days", "max_active_per_email")


# --------------------------------------------------------------------------- the citizen


class Contact(Input):
    """Who books: the fields of the booking form that the API's body shares."""

    name: SingleLine[200] = Field(description="First and last name", examples=["Erika Mustermann"],
                                  json_schema_extra=message(None, missing=_l("Bitte geben Sie Ihren Namen an.")))
    email: Email = Field(description="Confirmation and manage link go here", examples=["erika@example.org"],
                         json_schema_extra=message(None, missing=_l("Bitte geben Sie Ihre E-Mail-Adresse an.")))
    phone: Phone | None = Field(default=None, description="For short-notice changes", examples=["0711 123456"])
    note: MultiLine[1000] | None = Field(default=None, description="A note for the office")
    privacy_consent: Consent = Field(description="Must be true: the privacy notice was read",
                                     json_schema_extra=message(None, missing=CONSENT))


class BookingForm(Contact):
    """The booking page's form (its time: ``ChosenTime``, from the form or the page's URL)."""

    altcha: SingleLine[4000] | None = Field(default=None, description="Solved ALTCHA challenge")
    altcha_wait: SingleLine[200] | None = Field(default=None, description="Waiting-period token (no JavaScript)")


class NewAppointment(Contact):
    """``POST /api/v1/appointments``."""

    service: SingleLine[KEY_LENGTH] = Field(description="Service key", examples=["personalausweis"])
    location: SingleLine[KEY_LENGTH] = Field(description="Location key", examples=["buergeramt"])
    start: SlotStart = Field(description="A free time from the slot search (RFC 3339 with offset)",
                             examples=["2026-03-03T09:00:00+01:00"], json_schema_extra=CHOOSE_TIME)
    altcha: SingleLine[4000] | None = Field(default=None, description="Solved ALTCHA challenge (captcha on)")
    language: SingleLine[8] | None = Field(default=None, description="Language of the mails", examples=["de", "en"])


class ChosenTime(Input):
    """A chosen time: the booking page's ``?start=`` (or the form's choice after a 409), the move
    form and ``PATCH /api/v1/appointments/<code>``."""

    start: SlotStart = Field(description="A free time (RFC 3339 with offset)", examples=["2026-03-03T09:30:00+01:00"],
                             json_schema_extra=CHOOSE_TIME)


class Lookup(Input):
    """Lost the mail: booking number and e-mail address (the manage link goes to that address)."""

    code: SingleLine[20] = Field(description="Booking number", examples=["K7M-4QX"],
                                 json_schema_extra=message(None, missing=_l("Bitte geben Sie Ihre Buchungsnummer an.")))
    email: Email = Field(description="The address given when booking", examples=["erika@example.org"],
                         json_schema_extra=message(None, missing=_l("Bitte geben Sie Ihre E-Mail-Adresse an.")))


class NoBody(Input):
    """Cancel and confirm send nothing (the code is in the path, the token in the query or the
    ``Authorization`` header): a field sent is refused, by the form and by the API alike."""


class SlotQuery(Input):
    """``GET /api/v1/services/<key>/slots?from=&to=&location=``."""

    first: Day = Field(alias="from", description="First local day", examples=["2026-03-02"])
    last: Day = Field(alias="to", description="Last local day (at most 62 days in all)", examples=["2026-03-08"])
    location: SingleLine[KEY_LENGTH] | None = Field(default=None, description="Only this location")


# --------------------------------------------------------------------------- service_admin forms


class Week(Input):
    """Seven fields ``hours.mon`` … ``hours.sun``: a week of opening or working hours."""

    mon: Intervals = Field(default=[], alias="hours.mon")
    tue: Intervals = Field(default=[], alias="hours.tue")
    wed: Intervals = Field(default=[], alias="hours.wed")
    thu: Intervals = Field(default=[], alias="hours.thu")
    fri: Intervals = Field(default=[], alias="hours.fri")
    sat: Intervals = Field(default=[], alias="hours.sat")
    sun: Intervals = Field(default=[], alias="hours.sun")

    def week(self) -> dict[str, list[str]]:
        """The days that have times, as stored (``{"mon": ["08:00-12:00"], ...}``)."""
        return {day: list(getattr(self, day)) for day in WEEKDAYS if getattr(self, day)}


class LocationHours(Week):
    """A location's opening hours and closure days."""

    closures: Dates = Field(default=[], description="Closed on these days (YYYY-MM-DD)")


class StaffForm(Week):
    """A staff member's qualifications and working hours (no times at all: the opening hours)."""

    services: list[Id] = []
    locations: list[Id] = []


class ServiceForm(Input):
    """A service's names, texts, durations, limits and locations."""

    name_de: SingleLine[200] = Field(json_schema_extra=message(_l("Bitte geben Sie einen deutschen Namen an.")))
    name_en: SingleLine[200] = Field(json_schema_extra=message(_l("Bitte geben Sie einen englischen Namen an.")))
    description_de: MultiLine[5000] | None = None
    description_en: MultiLine[5000] | None = None
    documents_de: Lines = []
    documents_en: Lines = []
    duration_minutes: DurationMinutes
    buffer_minutes: BufferMinutes
    min_lead_hours: LeadHours
    horizon_days: HorizonDays
    max_active_per_email: ActivePerEmail
    email_confirmation: Flag = False
    active: Flag = False
    locations: list[Id] = []
