"""Factories for spaces test data: floors, desks, rooms, site settings; helpers for days."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from staff_calendar.spaces.models import Desk, Floor, Room
from tests.factories import log_in_session

_counter = itertools.count(1)
BERLIN = ZoneInfo("Europe/Berlin")


def make_site(bundesland: str | None = "BW", **spaces: Any) -> SiteSettings:
    settings = SiteSettings(name="Stadt Musterhausen", holidays=bundesland,
                            settings={"spaces": {"desk_days_per_week": 3, "horizon_days": 14, "checkin": False,
                                                 "release_time": "10:00", "retention_days": 90, **spaces}})
    db.session.add(settings)
    db.session.commit()
    return settings


def make_floor(key: str | None = None, **kw: Any) -> Floor:
    key = key or f"floor{next(_counter)}"
    floor = Floor(key=key, name={"de": f"Etage {key}", "en": f"Floor {key}"}, **kw)
    db.session.add(floor)
    db.session.commit()
    return floor


def make_desk(floor: Floor, key: str | None = None, **kw: Any) -> Desk:
    key = key or f"desk{next(_counter)}"
    kw.setdefault("attributes", ["monitor"])
    desk = Desk(key=key, floor_id=floor.id, label=kw.pop("label", f"Platz {key}"), **kw)
    db.session.add(desk)
    db.session.commit()
    return desk


def make_room(floor: Floor, key: str | None = None, **kw: Any) -> Room:
    key = key or f"room{next(_counter)}"
    kw.setdefault("capacity", 6)
    room = Room(key=key, floor_id=floor.id, name={"de": f"Raum {key}", "en": f"Room {key}"}, **kw)
    db.session.add(room)
    db.session.commit()
    return room


def open_day(offset: int = 1, bundesland: str = "BW") -> date:
    """The first working day at least ``offset`` days from today that is no public holiday."""
    day = datetime.now(BERLIN).date() + timedelta(days=offset)
    public = holidays.country_holidays("DE", subdiv=bundesland, years=[day.year, day.year + 1])
    while day.weekday() >= 5 or day in public:
        day += timedelta(days=1)
    return day


def open_days_in_week(start: date, count: int, bundesland: str = "BW") -> list[date]:
    """``count`` open working days of one ISO week starting from ``start`` (same week), or fewer."""
    public = holidays.country_holidays("DE", subdiv=bundesland, years=[start.year, start.year + 1])
    days = []
    day = start
    while day.isocalendar()[1] == start.isocalendar()[1] and len(days) < count:
        if day.weekday() < 5 and day not in public:
            days.append(day)
        day += timedelta(days=1)
    return days


def login_as(client, user) -> None:
    with client.session_transaction() as session:
        log_in_session(session, user)
