"""The site file: one TOML file holding a city's setup, parsed and validated into dataclasses.

``parse_site_file(path, app_timezone)`` returns a ``ParsedSite`` or raises ``SiteFileInvalid``
holding **every** error found, each as ``SiteError(path, problem)`` where ``path`` names the key
(``services[geburtsurkunde].duration_minutes``; entries without a usable ``key`` are named by
index: ``services[2]``). No database access: references are checked within the file.

Rules enforced (see README "Site file" for the full key list):
- TOML syntax (duplicate keys inside a table are a syntax error there);
- unknown keys, missing required keys, wrong types, numbers out of range;
- ``key`` values: lower-case letters, digits, ``.``, ``_``, ``-``; unique per kind;
- opening/working hours: weekday keys ``mon``..``sun``, ranges ``"HH:MM-HH:MM"`` with start before
  end, no overlapping ranges on one day;
- dates ``YYYY-MM-DD`` that exist in the calendar;
- references to locations, services and floors must name entries of the file;
- secrets never stand in the file: ``password`` is rejected, use ``password_env`` (the name of an
  environment variable) or ``password_file`` (a file in ``instance/``);
- ``[site] holidays`` is a German Bundesland code known to the ``holidays`` package;
- ``[site] timezone`` is a valid IANA zone and equals the app's ``TIMEZONE`` (``PORTAL_TIMEZONE``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from citizen_portal.core.calendar_days import WEEKDAYS

from .checker import LANGUAGES, parse_clock, parse_range
from .sections import TOP_LEVEL_KEYS, german_subdivisions, validate_document
from .specs import (
    BookingSettings,
    CalendarSpec,
    DeskSpec,
    FloorSpec,
    Localized,
    LocationSpec,
    OpeningHours,
    ParsedSite,
    RoomSpec,
    ServiceSpec,
    SiteError,
    SiteFileInvalid,
    SiteSection,
    SpacesSettings,
    StaffSpec,
)

__all__ = [
    "LANGUAGES", "TOP_LEVEL_KEYS", "WEEKDAYS", "BookingSettings", "CalendarSpec", "DeskSpec", "FloorSpec",
    "Localized", "LocationSpec", "OpeningHours", "ParsedSite", "RoomSpec", "ServiceSpec", "SiteError",
    "SiteFileInvalid", "SiteSection", "SpacesSettings", "StaffSpec", "german_subdivisions", "parse_clock",
    "parse_range", "parse_site_file", "parse_site_text", "validate_document",
]

def parse_site_text(text: str, app_timezone: str) -> ParsedSite:
    """Parse TOML text; a syntax error is reported as one ``SiteError`` with line and column."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SiteFileInvalid([SiteError("(file)", f"not valid TOML: {error}")]) from error
    return validate_document(document, app_timezone)


def parse_site_file(path: str | Path, app_timezone: str) -> ParsedSite:
    """Read and validate a site file (UTF-8 TOML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiteFileInvalid([SiteError("(file)", f"cannot be read: {error}")]) from error
    return parse_site_text(text, app_timezone)
