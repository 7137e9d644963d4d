"""What ``/api/v1`` answers about appointment booking: the ``Out`` models the API views return and
the OpenAPI document describes (inputs are in ``schemas``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import ConfigDict, Field

from citizen_portal.core.api import Out, Problem
from citizen_portal.core.i18n import site_timezone

if TYPE_CHECKING:
    from citizen_portal.booking.models import Appointment


class ServiceOut(Out):
    key: str = Field(examples=["personalausweis"])
    name: str = Field(description="Name in the request's language", examples=["Personalausweis beantragen"])
    duration_minutes: int = Field(examples=[30])
    locations: list[str] = Field(description="Keys of the active locations offering it", examples=[["buergeramt"]])


class ServiceListOut(Out):
    services: list[ServiceOut]


class SlotOut(Out):
    start: str = Field(description="RFC 3339 in the site's time zone", examples=["2026-03-03T09:00:00+01:00"])
    end: str = Field(examples=["2026-03-03T09:30:00+01:00"])
    location: str = Field(examples=["buergeramt"])


class SlotListOut(Out):
    slots: list[SlotOut]


class CaptchaChallengeOut(Out):
    """An ALTCHA challenge as the widget expects it."""

    model_config = ConfigDict(extra="allow")

    parameters: dict[str, Any] = Field(default_factory=dict)
    signature: str | None = None


class CaptchaOffProblem(Problem):
    """404 ``captcha_disabled``: the problem details plus ``enabled: false``."""

    enabled: bool = Field(examples=[False])


class AppointmentOut(Out):
    code: str = Field(description="Booking code", examples=["K7Q2-M9XA"])
    status: str = Field(examples=["booked"])
    service: str = Field(examples=["personalausweis"])
    location: str = Field(examples=["buergeramt"])
    start: str = Field(description="RFC 3339 in the site's time zone", examples=["2026-03-03T09:00:00+01:00"])
    end: str = Field(examples=["2026-03-03T09:30:00+01:00"])

    @classmethod
    def of(cls, appointment: Appointment, **extra: Any) -> Self:
        """An appointment as the API shows it: keys, and times in the site's time zone."""
        zone = site_timezone()
        return cls(code=appointment.code, status=appointment.status, service=appointment.service.key,
                   location=appointment.location.key, start=appointment.start_at.astimezone(zone).isoformat(),
                   end=appointment.end_at.astimezone(zone).isoformat(), **extra)


class BookedAppointmentOut(AppointmentOut):
    manage_token: str = Field(description="Secret for reading, moving and cancelling it (Bearer); shown once")


class SlotTakenProblem(Problem):
    """409 ``slot_taken``: the problem details plus other free times."""

    alternatives: list[SlotOut] = Field(default_factory=list)
