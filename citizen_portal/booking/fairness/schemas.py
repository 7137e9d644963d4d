"""Typed input of fair access: joining the waiting list and asking for a time in a release window
(the HTML forms and the JSON API parse through the same models). Shapes only; rules in the services."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from citizen_portal.booking.schemas import Consent, Input
from citizen_portal.core.schemas import Email, SingleLine, WholeNumber

Part = Literal["morning", "afternoon"]
Weekday = Annotated[WholeNumber, Field(ge=0, le=6)]


class Preferences(Input):
    """Which times suit: location keys, weekdays (0 = Monday) and parts of the day; empty: any."""

    locations: list[SingleLine[64]] = Field(default_factory=list, max_length=20)
    weekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    parts: list[Part] = Field(default_factory=list, max_length=2)

    def as_json(self) -> dict:
        return {"locations": sorted(set(self.locations)), "weekdays": sorted(set(self.weekdays)),
                "parts": sorted(set(self.parts))}


class JoinRequest(Preferences):
    """Join a service's waiting list (or ask for a time in a release window): name, e-mail, consent."""

    name: SingleLine[200]
    email: Email
    privacy_consent: Consent


class JoinBody(JoinRequest):
    """``POST /api/v1/services/{key}/waiting-list`` and ``…/release-requests``."""

    altcha: SingleLine[4000] | None = Field(default=None, description="Solved ALTCHA challenge (captcha on)")
    language: SingleLine[8] | None = Field(default=None, description="Language of the mails", examples=["de", "en"])


class TokenBody(Input):
    """A link's token from a mail (double opt-in, offer)."""

    token: SingleLine[200] = Field(description="The token from the link in the mail")
