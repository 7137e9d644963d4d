"""Test data for the rooms for citizens: a public room, a request body, days without holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import Room
from staff_calendar.spaces.public_schemas import PublicRequestInput
from tests.staff_calendar.spaces.factories import make_floor, make_room

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_EVENING = {day: ["18:00-22:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def public_table(**overrides: Any) -> dict:
    table = {"hours": EVERY_EVENING, "house_rules": {"de": "Bitte aufräumen.", "en": "Please tidy up."},
             "description": {"de": "Ein heller Raum.", "en": "A bright room."},
             "equipment": {"de": "30 Stühle", "en": "30 chairs"},
             "accessibility": {"de": "Stufenlos", "en": "Step-free"}, "photo": None, "photo_alt": {},
             "blackout_dates": [], "auto_approve": []}
    return {**table, **overrides}


def make_public_room(key: str = "buergerraum", calendar_key: str | None = None, **public: Any) -> Room:
    if calendar_key and db.session.query(CalendarLink).filter_by(key=calendar_key).first() is None:
        db.session.add(CalendarLink(key=calendar_key, owner_kind="room", owner_key=key,
                                    url=f"http://127.0.0.1:1/{key}/"))
        db.session.commit()
    floor = make_floor(f"pf-{key}")
    staff_hours = {day: ["07:00-22:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    return make_room(floor, key, capacity=20, public=public_table(**public), calendar_key=calendar_key,
                     opening_hours=staff_hours)


def series_start(weeks: int = 3, offset: int = 3, bundesland: str = "BW") -> date:
    """A working day ``offset`` or more days after today (site time) such that it and the same weekday of the
    next ``weeks - 1`` weeks are no public holiday and not 24/31 December (valid at any hour, on DST
    days and at the turn of the year). The wall clock only picks the day; tests set ``clock``."""
    day = datetime.now(BERLIN).date() + timedelta(days=offset)
    while True:
        dates = [day + timedelta(weeks=n) for n in range(weeks)]
        public = holidays.country_holidays("DE", subdiv=bundesland, years=sorted({d.year for d in dates}))
        if day.weekday() < 5 and not any(d in public or (d.month == 12 and d.day in (24, 31)) for d in dates):
            return day
        day += timedelta(days=1)


def request_body(day: date, **overrides: Any) -> dict:
    body = {"room": "buergerraum", "date": day.isoformat(), "start": "18:00", "end": "20:00", "name": "Erika Muster",
            "email": "erika@example.org", "organisation": "Gartenverein", "purpose": "Monatstreffen",
            "attendees": "12", "accept_rules": "1"}
    body.update(overrides)
    return body


def request_input(day: date, **overrides: Any) -> PublicRequestInput:
    from citizen_portal.core.schemas import parse

    return parse(PublicRequestInput, request_body(day, **overrides))
