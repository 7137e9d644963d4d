"""Typed input of the rooms for citizens (``/raeume`` and ``/api/v1/public-rooms``): shapes only (a
date, a ``HH:MM`` time, texts of bounded length, the house rules accepted); every rule that needs the
data (public hours, horizon, capacity, monthly hours, free or taken) is in
``services.public_rooms`` / ``services.public_requests``."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import Day, Email, Flag, Id, InputProblem, MultiLine, Schema, SingleLine
from staff_calendar.spaces.schemas import MAX_ATTENDEES, SpaceKey, whole_number_in

_CLOCK = re.compile(r"[0-2]?\d:[0-5]\d")


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.fullmatch(value.strip()):
        try:
            return time.fromisoformat(value.strip().zfill(5))
        except ValueError:
            pass
    raise InputProblem(_l("Bitte geben Sie eine Uhrzeit an (HH:MM)."))


Clock = Annotated[time, BeforeValidator(_clock),
                  WithJsonSchema({"type": "string", "pattern": "^[0-2]?[0-9]:[0-5][0-9]$", "examples": ["18:00"]})]
Attendees = whole_number_in(1, MAX_ATTENDEES)


class WeekQuery(Schema):
    """A public room's week: the Monday of ``date`` (default: this week)."""

    date: Day | None = None


class PublicRequestInput(Schema):
    """A request for a public room: one date, or weekly from ``date`` up to ``until``."""

    room: SpaceKey
    date: Day
    start: Clock
    end: Clock
    until: Day | None = Field(None, description="weekly series: the last date (inclusive)")
    name: SingleLine[200]
    email: Email
    organisation: SingleLine[200] | None = None
    show_organisation: Flag = Field(False, description="show the organisation instead of \"belegt\"")
    purpose: MultiLine[1000]
    attendees: Attendees
    accept_rules: Flag = Field(description="the house rules are accepted")
    altcha: SingleLine[4000] | None = Field(default=None, description="Solved ALTCHA challenge (captcha on)")

    @field_validator("accept_rules")
    @classmethod
    def _accepted(cls, value: bool) -> bool:
        if not value:
            raise InputProblem(_l("Bitte akzeptieren Sie die Hausordnung."))
        return value

    @field_validator("organisation", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class DecisionInput(Schema):
    """A room admin's decision: a reason (required when declining)."""

    reason: MultiLine[1000] | None = None


class CancelInput(Schema):
    """Cancel one date of a request (``use``) or, without it, every future date."""

    use: Id | None = None
