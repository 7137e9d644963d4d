"""The one declaration of the appointment settings (``[site] booking`` in the site file).

The site loader validates against it, stores every value with the defaults filled in, and the slot
engine, the booking services, the pages and the mails read it through ``booking_settings()``, so a
fresh database and a loaded one behave alike."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

EVENT_DETAILS = ("service_and_code", "with_name", "full")


@dataclass(frozen=True)
class BookingSettings:
    # how long a chosen slot is held while the citizen fills in the form or confirms by mail
    hold_minutes: int = 15
    # reminder mail this many hours before the appointment (0: none)
    reminder_hours: int = 24
    # personal data of an appointment is erased this many days after it
    erase_after_days: int = 30
    # a cancelled slot is offered again only after this delay (against slot trading)
    cancelled_slot_delay_minutes: int = 30
    # what the staff calendar event shows: see EVENT_DETAILS
    event_details: str = "service_and_code"
    # distance between offered start times; None: the service's duration + buffer
    slot_step_minutes: int | None = None


# inclusive ranges of the whole-number settings
RANGES: dict[str, tuple[int, int]] = {
    "hold_minutes": (1, 120),
    "reminder_hours": (0, 336),
    "erase_after_days": (1, 3650),
    "cancelled_slot_delay_minutes": (0, 1440),
    "slot_step_minutes": (5, 240),
}
CHOICES: dict[str, tuple[str, ...]] = {"event_details": EVENT_DETAILS}
KEYS = tuple(item.name for item in fields(BookingSettings))


def from_stored(values: dict[str, Any] | None) -> BookingSettings:
    """Settings as stored by the site loader (``SiteSettings.settings["booking"]``); keys the
    declaration does not know are ignored, missing ones take their default."""
    known = {key: value for key, value in (values or {}).items() if key in KEYS}
    return BookingSettings(**known)
