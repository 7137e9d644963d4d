"""Graph time zones and ``dateTime``: ``Prefer: outlook.timezone`` with Windows or IANA names,
``dateTimeTimeZone`` values read in their zone (no offset and no zone is UTC) and written as
``YYYY-MM-DDTHH:MM:SS.0000000``, ``startDateTime``/``endDateTime`` query ranges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, request

from citizen_portal.core.errors import Invalid
from citizen_portal.core.graph.protocol import DATETIME_FORMAT, prefer_parts
from citizen_portal.core.i18n import _l

# Windows time-zone names (CLDR windowsZones, territory 001) of the zones Graph clients in Europe send
WINDOWS_ZONES = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC",
    "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw", "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
    "E. Europe Standard Time": "Europe/Chisinau", "FLE Standard Time": "Europe/Kiev",
    "GTB Standard Time": "Europe/Bucharest", "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul", "Israel Standard Time": "Asia/Jerusalem",
    "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver", "Pacific Standard Time": "America/Los_Angeles",
    "Tokyo Standard Time": "Asia/Tokyo", "China Standard Time": "Asia/Shanghai",
    "India Standard Time": "Asia/Calcutta", "AUS Eastern Standard Time": "Australia/Sydney",
}
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone of a Windows or IANA name (``None`` when unknown)."""
    if not name:
        return None
    name = name.strip().strip('"')
    if name in WINDOWS_ZONES:
        return ZoneInfo(WINDOWS_ZONES[name])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def preferred_timezone() -> tuple[str, ZoneInfo]:
    """``Prefer: outlook.timezone="<Windows or IANA name>"`` (name as sent, zone); UTC without it. An
    honoured preference is echoed in ``Preference-Applied``; unknown names and other preferences are
    ignored."""
    for part in prefer_parts():
        key, _, value = part.partition("=")
        if key.strip().lower() == "outlook.timezone":
            name = value.strip().strip('"')
            zone = zone_named(name)
            if zone is not None:
                applied = g.setdefault("graph_preference_applied", [])
                if part.strip() not in applied:
                    applied.append(f'outlook.timezone="{name}"')
                return name, zone
    return "UTC", ZoneInfo("UTC")


def format_moment(moment: datetime, zone_name: str, zone: ZoneInfo) -> dict[str, str]:
    """A ``dateTimeTimeZone``: ``YYYY-MM-DDTHH:MM:SS.0000000`` in ``zone``, named as the client named it."""
    return {"dateTime": moment.astimezone(zone).strftime(DATETIME_FORMAT), "timeZone": zone_name}


def format_utc(moment: datetime) -> str:
    """A DateTimeOffset in UTC (``...Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(value: Any, field_name: str) -> datetime:
    """An aware UTC datetime from a ``dateTimeTimeZone`` (``{"dateTime", "timeZone"}``) or an ISO string;
    no zone and no offset is UTC. ``Invalid`` with the field's name otherwise."""
    if isinstance(value, dict):
        values = {str(k).lower(): v for k, v in value.items()}
        text, zone_name = values.get("datetime"), values.get("timezone")
    else:
        text, zone_name = value, None
    if not isinstance(text, str) or not text.strip():
        raise Invalid(fields={field_name: _l("Bitte geben Sie Datum und Uhrzeit an.")})
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph's seven fraction digits
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(fields={field_name: _l("Datum und Uhrzeit sind nicht lesbar (erwartet: "
                                             "YYYY-MM-DDTHH:MM:SS).")}) from None
    if moment.tzinfo is None:
        zone = zone_named(zone_name) if zone_name else ZoneInfo("UTC")
        if zone is None:
            raise Invalid(fields={field_name: _l("Unbekannte Zeitzone %(zone)s.", zone=str(zone_name)[:60])})
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def query_moment(name: str) -> datetime:
    """A required query parameter such as ``startDateTime`` (offset as given; none means UTC)."""
    value = request.args.get(name)
    if not value:
        raise Invalid(fields={name: _l("Dieser Parameter fehlt.")})
    return parse_moment(value, name)


def query_range() -> tuple[datetime, datetime]:
    start, end = query_moment("startDateTime"), query_moment("endDateTime")
    if end <= start:
        raise Invalid(fields={"endDateTime": _l("Das Ende muss nach dem Beginn liegen.")})
    if (end - start).days > 1830:
        raise Invalid(fields={"endDateTime": _l("Der Zeitraum darf höchstens fünf Jahre umfassen.")})
    return start, end


def time_of_day(value: time) -> str:
    return value.strftime("%H:%M:%S.0000000")
