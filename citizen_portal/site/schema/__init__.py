"""The site file: one TOML file holding a city's setup, validated by typed models into a ``SiteFile``.

``parse_site_file(path, app_timezone)`` returns a ``SiteFile`` or raises ``SiteFileInvalid`` holding
**every** error found, each as ``SiteError(path, problem)`` where ``path`` names the key
(``services[geburtsurkunde].duration_minutes``; entries without a usable ``key`` are named by
index: ``services[2]``). No database access: references are checked within the file.

Rules enforced (the models in ``models.py`` and the settings they include; README "The site file"):
- TOML syntax (duplicate keys inside a table are a syntax error there);
- unknown keys, missing required keys, wrong types (no conversions: ``"15"`` is no number), ranges;
- ``key`` values: lower-case letters, digits, ``.``, ``_``, ``-``; unique per kind;
- opening/working hours: weekday keys ``mon``..``sun``, ranges ``"HH:MM-HH:MM"`` with start before
  end (``24:00`` allowed as an end), no overlapping ranges on one day;
- dates ``YYYY-MM-DD`` that exist in the calendar;
- references to locations, services and floors must name entries of the file; each service a staff
  member offers is offered at one of the member's locations;
- secrets never stand in the file: ``password`` is rejected, use ``password_env`` (the name of an
  environment variable) or ``password_file`` (a file in ``instance/``);
- ``[site] holidays`` is a German Bundesland code known to the ``holidays`` package;
- ``[site] timezone`` is a valid IANA zone and equals the app's ``TIMEZONE`` (``PORTAL_TIMEZONE``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import SiteError, SiteFileInvalid, context_of, site_errors
from .models import (
    CalendarSpec,
    DeskSpec,
    FloorSpec,
    LocationSpec,
    RoomSpec,
    ServiceSpec,
    SiteFile,
    SiteSection,
    StaffSpec,
)

__all__ = [
    "CalendarSpec", "DeskSpec", "FloorSpec", "LocationSpec", "RoomSpec", "ServiceSpec", "SiteError", "SiteFile",
    "SiteFileInvalid", "SiteSection", "StaffSpec", "parse_site_file", "parse_site_text", "validate_document",
]


def validate_document(document: dict[str, Any], app_timezone: str) -> SiteFile:
    """Validate a decoded TOML document; raise ``SiteFileInvalid`` with every error found."""
    try:
        parsed = SiteFile.model_validate(document, strict=True, context=context_of(document, app_timezone))
    except ValidationError as invalid:
        raise SiteFileInvalid(site_errors(invalid, document)) from None
    duplicates = site_errors(None, document)
    if duplicates:
        raise SiteFileInvalid(duplicates)
    return parsed


def parse_site_text(text: str, app_timezone: str) -> SiteFile:
    """Parse TOML text; a syntax error is reported as one ``SiteError`` with line and column."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SiteFileInvalid([SiteError("(file)", f"not valid TOML: {error}")]) from error
    return validate_document(document, app_timezone)


def parse_site_file(path: str | Path, app_timezone: str) -> SiteFile:
    """Read and validate a site file (UTF-8 TOML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiteFileInvalid([SiteError("(file)", f"cannot be read: {error}")]) from error
    return parse_site_text(text, app_timezone)
