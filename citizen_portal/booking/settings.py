"""The one declaration of the appointment settings (``[site] booking`` in the site file) and of the
settings of a service (``[[services]]``): type, default, allowed range and meaning of each.

The site loader validates the site file with these models and stores every value with the defaults
filled in; the slot engine, the booking services, the pages and the mails read ``BookingSettings``
through ``booking_settings()``; a ``Service`` row created without a value takes ``SERVICE_DEFAULTS``.
So a fresh database and a loaded one behave alike. The README's site-file tables are generated from
the descriptions below (``python -m citizen_portal.site.schema.reference``)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

EventDetails = Literal["service_and_code", "with_name", "full"]
WaitingListMode = Literal["off", "when_full", "always"]
EVENT_DETAILS: tuple[str, ...] = get_args(EventDetails)


class BookingSettings(BaseModel):
    """``[site] booking``: how appointments are held, reminded, erased and shown in staff calendars."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hold_minutes: int = Field(15, ge=1, le=120, description=(
        "how long a chosen slot is held while the citizen fills in the form or confirms by mail"))
    reminder_hours: int = Field(24, ge=0, le=336, description=(
        "reminder mail this many hours before the appointment (0: none)"))
    erase_after_days: int = Field(30, ge=1, le=3650, description=(
        "personal data of an appointment is erased this many days after it"))
    cancelled_slot_delay_minutes: int = Field(30, ge=0, le=1440, description=(
        "a cancelled slot is offered again only after this delay (against slot trading)"))
    event_details: EventDetails = Field("service_and_code", description=(
        "what the staff calendar event shows: `service_and_code` (nothing personal), `with_name` (also the "
        "citizen's name) or `full` (also email, phone and note)"))
    slot_step_minutes: int | None = Field(None, ge=5, le=240, json_schema_extra={"x-default": "duration + buffer"},
                                          description="distance between offered start times, e.g. `10` for a "
                                                      "15-minute service")
    waiting_list_retention_days: int = Field(90, ge=1, le=730, description=(
        "a waiting-list entry (and its personal data) is removed this many days after joining"))


class ServiceSettings(BaseModel):
    """The length and booking limits of one service (``[[services]]``, the service admin page)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_minutes: int = Field(ge=5, le=480, description="length of an appointment")
    buffer_minutes: int = Field(0, ge=0, le=240, description="kept free after each appointment")
    min_lead_hours: int = Field(2, ge=0, le=8760, description="earliest bookable time from now")
    horizon_days: int = Field(60, ge=1, le=730, description=(
        "latest bookable day from today (the calendar mirror reaches at least this far)"))
    email_confirmation: bool = Field(False, description=(
        "the booking becomes valid only after the citizen confirms by email"))
    max_active_per_email: int = Field(1, ge=1, le=100, description=(
        "upcoming appointments one email address may hold for this service"))
    waiting_list: WaitingListMode = Field("when_full", description=(
        "waiting list: `off`, `when_full` (offered when nothing is free within the horizon) or `always`"))
    offer_hours: int = Field(2, ge=1, le=72, description="a waiting-list offer link is valid this long")
    offer_group_size: int = Field(1, ge=1, le=10, description=(
        "a freed time is offered to this many people on the waiting list at once (the first to accept books)"))
    release_days_ahead: int | None = Field(None, ge=1, le=365, description=(
        "release window: each day's times are released this many days ahead by a lottery (none: no windows)"))
    release_hour: int = Field(8, ge=0, le=23, description="local hour at which a release window opens")
    release_window_minutes: int = Field(15, ge=5, le=1440, description=(
        "requests are collected this long; then the lottery allocates the day's times"))


def _bound(metadata: list[Any], name: str) -> Any:
    return next(getattr(item, name) for item in metadata if hasattr(item, name))


# the optional service settings with their defaults: {"buffer_minutes": 0, "min_lead_hours": 2, ...}
SERVICE_DEFAULTS: dict[str, Any] = {name: field.default for name, field in ServiceSettings.model_fields.items()
                                    if not field.is_required()}
# inclusive ranges of the whole-number service settings: {"duration_minutes": (5, 480), ...}
SERVICE_LIMITS: dict[str, tuple[int, int]] = {
    name: (_bound(field.metadata, "ge"), _bound(field.metadata, "le"))
    for name, field in ServiceSettings.model_fields.items() if field.annotation is int}


def from_stored(values: dict[str, Any] | None) -> BookingSettings:
    """Settings as stored by the site loader (``SiteSettings.settings["booking"]``); keys the
    declaration does not know are ignored, missing ones take their default."""
    return BookingSettings.model_validate({key: value for key, value in (values or {}).items()
                                           if key in BookingSettings.model_fields})
