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

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LANGUAGES = ("de", "en")
LEGAL_PAGES = ("impressum", "datenschutz", "barrierefreiheit")
EVENT_DETAILS = ("service_and_code", "with_name", "full")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
RANGE_PATTERN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
CLOCK_PATTERN = re.compile(r"^(\d{2}):(\d{2})$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_HINT = ('never write a password into the site file: use password_env = "NAME" (an environment variable) '
               'or password_file = "name" (a file in instance/)')

OpeningHours = dict[str, list[str]]
Localized = dict[str, str]


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True)
class SiteError:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class SiteFileInvalid(Exception):
    """The site file has errors; ``errors`` lists every one of them."""

    def __init__(self, errors: list[SiteError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the site file")
        self.errors = errors


@dataclass
class CalendarSpec:
    url: str
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None


@dataclass
class BookingSettings:
    hold_minutes: int = 15
    reminder_hours: int = 24
    erase_after_days: int = 30
    cancelled_slot_delay_minutes: int = 30
    event_details: str = "service_and_code"


@dataclass
class SpacesSettings:
    desk_days_per_week: int = 3
    horizon_days: int = 14
    checkin: bool = False
    release_time: str = "10:00"
    retention_days: int = 90
    series_horizon_days: int = 63
    afternoon_release_time: str = "14:00"
    morning: str = "08:00-12:30"
    afternoon: str = "12:30-17:00"
    occupancy_min_count: int = 3


@dataclass
class SiteSection:
    name: str
    timezone: str = "Europe/Berlin"
    holidays: str | None = None
    legal: dict[str, Localized] = field(default_factory=dict)
    booking: BookingSettings = field(default_factory=BookingSettings)
    spaces: SpacesSettings = field(default_factory=SpacesSettings)
    # site-wide closures (every location, desk and room): ISO dates
    closures: list[str] = field(default_factory=list)


@dataclass
class LocationSpec:
    key: str
    name: Localized
    address: str = ""
    opening_hours: OpeningHours = field(default_factory=dict)
    closures: list[str] = field(default_factory=list)


@dataclass
class ServiceSpec:
    key: str
    name: Localized
    duration_minutes: int
    locations: list[str]
    description: Localized = field(default_factory=dict)
    documents: dict[str, list[str]] = field(default_factory=dict)
    buffer_minutes: int = 0
    min_lead_hours: int = 2
    horizon_days: int = 60
    email_confirmation: bool = False
    max_active_per_email: int = 1


@dataclass
class StaffSpec:
    key: str
    name: str
    locations: list[str]
    services: list[str]
    email: str | None = None
    working_hours: OpeningHours | None = None
    calendar: CalendarSpec | None = None


@dataclass
class FloorSpec:
    key: str
    name: Localized
    desk_days_per_week: int | None = None


@dataclass
class DeskSpec:
    key: str
    floor: str
    label: str | None = None
    attributes: list[str] = field(default_factory=list)
    x: float | None = None
    y: float | None = None


@dataclass
class RoomSpec:
    key: str
    floor: str
    name: Localized
    capacity: int = 1
    attributes: list[str] = field(default_factory=list)
    opening_hours: OpeningHours | None = None
    calendar: CalendarSpec | None = None
    x: float | None = None
    y: float | None = None


@dataclass
class ParsedSite:
    site: SiteSection
    locations: list[LocationSpec] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)
    staff: list[StaffSpec] = field(default_factory=list)
    floors: list[FloorSpec] = field(default_factory=list)
    desks: list[DeskSpec] = field(default_factory=list)
    rooms: list[RoomSpec] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.locations)} locations, {len(self.services)} services, {len(self.staff)} staff, "
                f"{len(self.floors)} floors, {len(self.desks)} desks, {len(self.rooms)} rooms")


# --------------------------------------------------------------------------- the checker

_MISSING = object()


class _Checker:
    """Collects errors while reading values; every reader returns a usable value or ``None``."""

    def __init__(self) -> None:
        self.errors: list[SiteError] = []

    def error(self, path: str, problem: str) -> None:
        self.errors.append(SiteError(path, problem))

    def table(self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict | None:
        """A TOML table with only ``allowed`` keys and all ``required`` ones."""
        if not isinstance(value, dict):
            self.error(path, f"must be a table, not {_type_name(value)}")
            return None
        for key in value:
            if key == "password":
                self.error(_join(path, key), SECRET_HINT)
            elif key not in allowed:
                self.error(_join(path, key), f"unknown key (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.error(_join(path, key), "missing (required)")
        return value

    def string(self, table: dict, key: str, path: str, default: Any = _MISSING, max_length: int = 200) -> Any:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None if default is _MISSING else default
        if not isinstance(value, str):
            self.error(_join(path, key), f"must be a string, not {_type_name(value)}")
            return None
        if not value.strip():
            self.error(_join(path, key), "must not be empty")
            return None
        if len(value) > max_length:
            self.error(_join(path, key), f"is longer than {max_length} characters")
            return None
        return value

    def integer(self, table: dict, key: str, path: str, default: Any, low: int, high: int) -> Any:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(_join(path, key), f"must be a whole number, not {_type_name(value)}")
            return None
        if not low <= value <= high:
            self.error(_join(path, key), f"must be between {low} and {high}, not {value}")
            return None
        return value

    def number(self, table: dict, key: str, path: str, low: float, high: float) -> float | None:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(_join(path, key), f"must be a number, not {_type_name(value)}")
            return None
        if not low <= value <= high:
            self.error(_join(path, key), f"must be between {low:g} and {high:g}, not {value}")
            return None
        return float(value)

    def boolean(self, table: dict, key: str, path: str, default: bool) -> bool:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(_join(path, key), f"must be true or false, not {_type_name(value)}")
            return default
        return value

    def choice(self, table: dict, key: str, path: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(table, key, path, default)
        if value is not None and value not in choices:
            self.error(_join(path, key), f"must be one of {', '.join(choices)}, not {value!r}")
            return default
        return value or default

    def string_list(self, table: dict, key: str, path: str, item_pattern: re.Pattern | None = None,
                    what: str = "value") -> list[str] | None:
        """A list of strings (no duplicates); each matching ``item_pattern`` when given."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.error(_join(path, key), f"must be a list, not {_type_name(value)}")
            return None
        result: list[str] = []
        for index, item in enumerate(value):
            item_path = f"{_join(path, key)}[{index}]"
            if not isinstance(item, str) or not item.strip():
                self.error(item_path, f"must be a non-empty string, not {_type_name(item)}")
            elif item_pattern is not None and not item_pattern.match(item):
                self.error(item_path, f"{item!r} is not a valid {what} (lower-case letters, digits, '.', '_', '-')")
            elif item in result:
                self.error(item_path, f"{item!r} is listed twice")
            else:
                result.append(item)
        return result

    def localized(self, table: dict, key: str, path: str, required: bool, max_length: int = 200) -> Localized | None:
        """A text in several languages: ``{de = "...", en = "..."}`` (German required); a plain
        string counts as German."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None if required else {}
        if isinstance(value, str):
            value = {"de": value}
        if not isinstance(value, dict):
            self.error(_join(path, key), f'must be a table like {{ de = "...", en = "..." }}, not {_type_name(value)}')
            return None
        result = {}
        for language, text in value.items():
            text_path = _join(_join(path, key), language)
            if language not in LANGUAGES:
                self.error(text_path, f"unknown language (allowed: {', '.join(LANGUAGES)})")
            elif not isinstance(text, str) or not text.strip():
                self.error(text_path, f"must be a non-empty string, not {_type_name(text)}")
            elif len(text) > max_length:
                self.error(text_path, f"is longer than {max_length} characters")
            else:
                result[language] = text
        if "de" not in value:
            self.error(_join(_join(path, key), "de"), "missing (the German text is required)")
        return result

    def hours(self, table: dict, key: str, path: str) -> OpeningHours | None:
        """Weekly hours: weekday keys ``mon``..``sun``, each a list of non-overlapping
        ``"HH:MM-HH:MM"`` ranges with start before end (``24:00`` allowed as an end)."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None
        hours_path = _join(path, key)
        if not isinstance(value, dict):
            self.error(hours_path, f'must be a table like {{ mon = ["08:00-12:00"] }}, not {_type_name(value)}')
            return None
        result: OpeningHours = {}
        for day, ranges in value.items():
            day_path = _join(hours_path, day)
            if day not in WEEKDAYS:
                self.error(day_path, f"unknown weekday (use {', '.join(WEEKDAYS)})")
                continue
            if not isinstance(ranges, list):
                self.error(day_path, f'must be a list like ["08:00-12:00"], not {_type_name(ranges)}')
                continue
            day_ranges = self._day_ranges(ranges, day_path)
            if day_ranges is not None:
                result[day] = day_ranges
        return {day: result[day] for day in WEEKDAYS if day in result}

    def _day_ranges(self, ranges: list, path: str) -> list[str] | None:
        parsed: list[tuple[int, int, str, int]] = []
        ok = True
        for index, text in enumerate(ranges):
            minutes = parse_range(text)
            if minutes is None:
                self.error(f"{path}[{index}]", f'{text!r} is not a time range "HH:MM-HH:MM" with start before end')
                ok = False
            else:
                parsed.append((*minutes, text, index))
        parsed.sort()
        for previous, current in pairwise(parsed):
            if current[0] < previous[1]:
                self.error(f"{path}[{current[3]}]", f"{current[2]!r} overlaps {previous[2]!r}")
                ok = False
        return [item[2] for item in parsed] if ok else None

    def dates(self, table: dict, key: str, path: str) -> list[str]:
        """ISO dates (``"2026-12-24"`` or a TOML date) that exist; returned sorted, unique."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.error(_join(path, key), f"must be a list of dates, not {_type_name(value)}")
            return []
        result: set[str] = set()
        for index, item in enumerate(value):
            item_path = f"{_join(path, key)}[{index}]"
            if isinstance(item, date) and not hasattr(item, "hour"):
                iso = item.isoformat()
            elif isinstance(item, str) and DATE_PATTERN.match(item) and _valid_date(item):
                iso = item
            else:
                self.error(item_path, f"{item!r} is not a date YYYY-MM-DD that exists")
                continue
            if iso in result:
                self.error(item_path, f"{iso} is listed twice")
            result.add(iso)
        return sorted(result)

    def calendar(self, table: dict, key: str, path: str) -> CalendarSpec | None:
        """``{url, username, password_env | password_file}``: an http(s) URL; a secret only by
        reference (an environment variable name, or a relative file name inside ``instance/``)."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return None
        cal_path = _join(path, key)
        raw = self.table(value, cal_path, ("url", "username", "password_env", "password_file"), ("url",))
        if raw is None:
            return None
        url = self.string(raw, "url", cal_path, max_length=500)
        if url is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
            self.error(_join(cal_path, "url"), f"{url!r} is not an http:// or https:// URL")
            url = None
        username = self.string(raw, "username", cal_path, None)
        password_env = self.string(raw, "password_env", cal_path, None, max_length=100)
        if password_env is not None and not ENV_NAME_PATTERN.match(password_env):
            self.error(_join(cal_path, "password_env"), f"{password_env!r} is not an environment variable name")
        password_file = self.string(raw, "password_file", cal_path, None)
        if password_file is not None and (password_file.startswith("/") or ".." in Path(password_file).parts):
            self.error(_join(cal_path, "password_file"), "must be a file name relative to instance/, without '..'")
        if password_env and password_file:
            self.error(cal_path, "give either password_env or password_file, not both")
        if url is None:
            return None
        return CalendarSpec(url=url, username=username, password_env=password_env, password_file=password_file)

    def entries(self, document: dict, name: str) -> list[tuple[str, dict]]:
        """An array of tables ``[[name]]``: each entry with its path, named by its key when it has
        a valid one (``staff[mmueller]``), else by index (``staff[2]``); duplicate keys reported."""
        value = document.get(name, [])
        if not isinstance(value, list):
            self.error(name, f"must be an array of tables [[{name}]], not {_type_name(value)}")
            return []
        result: list[tuple[str, dict]] = []
        seen: dict[str, str] = {}
        for index, entry in enumerate(value):
            index_path = f"{name}[{index}]"
            if not isinstance(entry, dict):
                self.error(index_path, f"must be a table, not {_type_name(entry)}")
                continue
            key = entry.get("key")
            if key is None:
                self.error(f"{index_path}.key", "missing (required)")
                continue
            if not isinstance(key, str) or not KEY_PATTERN.match(key):
                self.error(f"{index_path}.key", f"{key!r} is not a valid key (1-64 lower-case letters, digits, "
                                                "'.', '_', '-'; starting with a letter or digit)")
                continue
            if key in seen:
                self.error(f"{index_path}.key", f"duplicate key {key!r} (also {seen[key]})")
                continue
            seen[key] = index_path
            result.append((f"{name}[{key}]", entry))
        return result

    def references(self, values: list[str] | None, known: set[str], path: str, kind: str) -> None:
        for index, value in enumerate(values or []):
            if value not in known:
                self.error(f"{path}[{index}]", f"unknown {kind} {value!r}" + _hint(known))


# --------------------------------------------------------------------------- helpers


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"a {type(value).__name__}"


def _hint(known: set[str]) -> str:
    return f" (known: {', '.join(sorted(known))})" if known else " (none defined)"


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_clock(text: Any, allow_24: bool = False) -> int | None:
    """``"HH:MM"`` as minutes after midnight, or None when it is no valid time of day."""
    if not isinstance(text, str):
        return None
    match = CLOCK_PATTERN.match(text)
    if not match:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if allow_24 and hours == 24 and minutes == 0:
        return 24 * 60
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def parse_range(text: Any) -> tuple[int, int] | None:
    """``"HH:MM-HH:MM"`` as (start, end) minutes after midnight with start < end, else None."""
    if not isinstance(text, str) or "-" not in text or not RANGE_PATTERN.match(text):
        return None
    start_text, end_text = text.split("-")
    start, end = parse_clock(start_text), parse_clock(end_text, allow_24=True)
    if start is None or end is None or start >= end:
        return None
    return start, end


def german_subdivisions() -> list[str]:
    """Bundesland codes the ``holidays`` package knows for Germany (two letters, e.g. BW, BY)."""
    codes = holidays.country_holidays("DE").subdivisions
    return sorted(code for code in codes if len(code) == 2 and code.isupper())


# --------------------------------------------------------------------------- sections


def _site_section(check: _Checker, document: dict, app_timezone: str) -> SiteSection | None:
    if "site" not in document:
        check.error("site", "missing: the file needs a [site] table with at least name")
        return None
    raw = check.table(document["site"], "site", ("name", "timezone", "holidays", "closures", "legal", "booking",
                                                "spaces"),
                      ("name",))
    if raw is None:
        return None
    name = check.string(raw, "name", "site")
    timezone = check.string(raw, "timezone", "site", "Europe/Berlin", max_length=64)
    if timezone is not None:
        _check_timezone(check, timezone, app_timezone)
    holiday_code = check.string(raw, "holidays", "site", None, max_length=8)
    if holiday_code is not None and holiday_code not in german_subdivisions():
        check.error("site.holidays", f"{holiday_code!r} is not a German Bundesland code "
                                     f"(one of {', '.join(german_subdivisions())})")
    legal = _legal(check, raw.get("legal", {}), "site.legal")
    booking = _booking(check, raw.get("booking", {}), "site.booking")
    spaces = _spaces(check, raw.get("spaces", {}), "site.spaces")
    closures = check.dates(raw, "closures", "site")
    if name is None:
        return None
    return SiteSection(name=name, timezone=timezone or app_timezone, holidays=holiday_code, legal=legal,
                       booking=booking, spaces=spaces, closures=closures)


def _check_timezone(check: _Checker, timezone: str, app_timezone: str) -> None:
    """A valid IANA zone that equals the app's configured ``TIMEZONE``: times are computed in
    the app's zone, so a different one in the file would show wrong opening hours."""
    try:
        ZoneInfo(timezone)
        valid = timezone in available_timezones() or timezone == "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        valid = False
    if not valid:
        check.error("site.timezone", f"{timezone!r} is not a time zone name like 'Europe/Berlin'")
    elif timezone != app_timezone:
        check.error("site.timezone", f"{timezone!r} differs from the app's time zone {app_timezone!r}: "
                                     f"set PORTAL_TIMEZONE={timezone} or write timezone = {app_timezone!r}")


def _legal(check: _Checker, value: Any, path: str) -> dict[str, Localized]:
    raw = check.table(value, path, LEGAL_PAGES)
    if raw is None:
        return {}
    result = {}
    for page in LEGAL_PAGES:
        text = check.localized(raw, page, path, required=False, max_length=50_000)
        if text:
            result[page] = text
    return result


def _booking(check: _Checker, value: Any, path: str) -> BookingSettings:
    defaults = BookingSettings()
    raw = check.table(value, path, tuple(BookingSettings.__dataclass_fields__))
    if raw is None:
        return defaults
    return BookingSettings(
        hold_minutes=check.integer(raw, "hold_minutes", path, defaults.hold_minutes, 1, 120) or defaults.hold_minutes,
        reminder_hours=_or(check.integer(raw, "reminder_hours", path, defaults.reminder_hours, 0, 336),
                           defaults.reminder_hours),
        erase_after_days=check.integer(raw, "erase_after_days", path, defaults.erase_after_days, 1, 3650)
        or defaults.erase_after_days,
        cancelled_slot_delay_minutes=_or(
            check.integer(raw, "cancelled_slot_delay_minutes", path, defaults.cancelled_slot_delay_minutes, 0, 1440),
            defaults.cancelled_slot_delay_minutes),
        event_details=check.choice(raw, "event_details", path, defaults.event_details, EVENT_DETAILS),
    )


def _spaces(check: _Checker, value: Any, path: str) -> SpacesSettings:
    defaults = SpacesSettings()
    raw = check.table(value, path, tuple(SpacesSettings.__dataclass_fields__))
    if raw is None:
        return defaults

    def clock(key: str) -> str:
        given = check.string(raw, key, path, getattr(defaults, key), max_length=5)
        if given is not None and parse_clock(given) is None:
            check.error(_join(path, key), f"{given!r} is not a time of day HH:MM")
            return getattr(defaults, key)
        return given or getattr(defaults, key)

    def half_day(key: str) -> str:
        given = check.string(raw, key, path, getattr(defaults, key), max_length=11)
        if given is not None and parse_range(given) is None:
            check.error(_join(path, key), f"{given!r} is not a time range HH:MM-HH:MM")
            return getattr(defaults, key)
        return given or getattr(defaults, key)

    def number(key: str, low: int, high: int) -> int:
        return _or(check.integer(raw, key, path, getattr(defaults, key), low, high), getattr(defaults, key))

    return SpacesSettings(
        desk_days_per_week=number("desk_days_per_week", 1, 7),
        horizon_days=number("horizon_days", 1, 365),
        checkin=check.boolean(raw, "checkin", path, defaults.checkin),
        release_time=clock("release_time"),
        retention_days=number("retention_days", 1, 3650),
        series_horizon_days=number("series_horizon_days", 1, 366),
        afternoon_release_time=clock("afternoon_release_time"),
        morning=half_day("morning"),
        afternoon=half_day("afternoon"),
        occupancy_min_count=number("occupancy_min_count", 1, 100),
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _locations(check: _Checker, document: dict) -> list[LocationSpec]:
    result = []
    for path, entry in check.entries(document, "locations"):
        check.table(entry, path, ("key", "name", "address", "opening_hours", "closures"), ("name",))
        name = check.localized(entry, "name", path, required=True)
        address = check.string(entry, "address", path, "", max_length=300)
        hours = check.hours(entry, "opening_hours", path)
        closures = check.dates(entry, "closures", path)
        if name is not None:
            result.append(LocationSpec(key=entry["key"], name=name, address=address or "",
                                       opening_hours=hours or {}, closures=closures))
    return result


SERVICE_KEYS = ("key", "name", "description", "documents", "duration_minutes", "buffer_minutes", "min_lead_hours",
                "horizon_days", "email_confirmation", "max_active_per_email", "locations")


def _services(check: _Checker, document: dict, location_keys: set[str]) -> list[ServiceSpec]:
    result = []
    for path, entry in check.entries(document, "services"):
        check.table(entry, path, SERVICE_KEYS, ("name", "duration_minutes", "locations"))
        name = check.localized(entry, "name", path, required=True)
        description = check.localized(entry, "description", path, required=False, max_length=5000)
        documents = _documents(check, entry, path)
        duration = check.integer(entry, "duration_minutes", path, None, 5, 480)
        locations = check.string_list(entry, "locations", path, KEY_PATTERN, "location key")
        if locations is not None and not locations and "locations" in entry:
            check.error(_join(path, "locations"), "must name at least one location")
        check.references(locations, location_keys, _join(path, "locations"), "location")
        spec = ServiceSpec(
            key=entry["key"], name=name or {}, duration_minutes=duration or 0, locations=locations or [],
            description=description or {}, documents=documents,
            buffer_minutes=_or(check.integer(entry, "buffer_minutes", path, 0, 0, 240), 0),
            min_lead_hours=_or(check.integer(entry, "min_lead_hours", path, 2, 0, 8760), 2),
            horizon_days=_or(check.integer(entry, "horizon_days", path, 60, 1, 730), 60),
            email_confirmation=check.boolean(entry, "email_confirmation", path, False),
            max_active_per_email=_or(check.integer(entry, "max_active_per_email", path, 1, 1, 100), 1),
        )
        if name is not None and duration is not None and locations:
            result.append(spec)
    return result


def _documents(check: _Checker, entry: dict, path: str) -> dict[str, list[str]]:
    """Documents to bring, per language: ``{de = ["..."], en = ["..."]}``."""
    value = entry.get("documents", _MISSING)
    if value is _MISSING:
        return {}
    raw = check.table(value, _join(path, "documents"), LANGUAGES)
    if raw is None:
        return {}
    result = {}
    for language in LANGUAGES:
        items = check.string_list(raw, language, _join(path, "documents"))
        if items:
            result[language] = items
    return result


def _staff(check: _Checker, document: dict, location_keys: set[str],
           services: dict[str, ServiceSpec]) -> list[StaffSpec]:
    """Staff members; each service a member offers must be offered at one of the member's locations."""
    result = []
    for path, entry in check.entries(document, "staff"):
        check.table(entry, path, ("key", "name", "email", "locations", "services", "working_hours", "calendar"),
                    ("name", "locations", "services"))
        name = check.string(entry, "name", path)
        email = check.string(entry, "email", path, None, max_length=254)
        if email is not None and not EMAIL_PATTERN.match(email):
            check.error(_join(path, "email"), "is not an email address")
        locations = check.string_list(entry, "locations", path, KEY_PATTERN, "location key")
        check.references(locations, location_keys, _join(path, "locations"), "location")
        offered = check.string_list(entry, "services", path, KEY_PATTERN, "service key")
        check.references(offered, set(services), _join(path, "services"), "service")
        for index, service_key in enumerate(offered or []):
            service = services.get(service_key)
            if service and service.locations and locations and not set(service.locations) & set(locations):
                check.error(f"{path}.services[{index}]", f"service {service_key!r} is not offered at any of this "
                                                        f"member's locations ({', '.join(locations)})")
        working_hours = check.hours(entry, "working_hours", path)
        calendar = check.calendar(entry, "calendar", path)
        if name is not None and locations is not None and offered is not None:
            result.append(StaffSpec(key=entry["key"], name=name, email=email, locations=locations,
                                    services=offered, working_hours=working_hours, calendar=calendar))
    return result


def _floors(check: _Checker, document: dict) -> list[FloorSpec]:
    result = []
    for path, entry in check.entries(document, "floors"):
        check.table(entry, path, ("key", "name", "desk_days_per_week"), ("name",))
        name = check.localized(entry, "name", path, required=True)
        days = check.integer(entry, "desk_days_per_week", path, None, 1, 7)
        if name is not None:
            result.append(FloorSpec(key=entry["key"], name=name, desk_days_per_week=days))
    return result


def _desks(check: _Checker, document: dict, floor_keys: set[str]) -> list[DeskSpec]:
    result = []
    for path, entry in check.entries(document, "desks"):
        check.table(entry, path, ("key", "floor", "label", "attributes", "x", "y"), ("floor",))
        floor = _floor_reference(check, entry, path, floor_keys)
        label = check.string(entry, "label", path, None, max_length=100)
        attributes = check.string_list(entry, "attributes", path, KEY_PATTERN, "attribute")
        x, y = check.number(entry, "x", path, 0, 100), check.number(entry, "y", path, 0, 100)
        if floor is not None:
            result.append(DeskSpec(key=entry["key"], floor=floor, label=label, attributes=attributes or [], x=x, y=y))
    return result


def _rooms(check: _Checker, document: dict, floor_keys: set[str]) -> list[RoomSpec]:
    result = []
    for path, entry in check.entries(document, "rooms"):
        check.table(entry, path, ("key", "floor", "name", "capacity", "attributes", "opening_hours", "calendar",
                                  "x", "y"), ("floor", "name"))
        floor = _floor_reference(check, entry, path, floor_keys)
        name = check.localized(entry, "name", path, required=True)
        capacity = check.integer(entry, "capacity", path, 1, 1, 1000)
        attributes = check.string_list(entry, "attributes", path, KEY_PATTERN, "attribute")
        hours = check.hours(entry, "opening_hours", path)
        calendar = check.calendar(entry, "calendar", path)
        x, y = check.number(entry, "x", path, 0, 100), check.number(entry, "y", path, 0, 100)
        if floor is not None and name is not None:
            result.append(RoomSpec(key=entry["key"], floor=floor, name=name, capacity=capacity or 1,
                                   attributes=attributes or [], opening_hours=hours, calendar=calendar, x=x, y=y))
    return result


def _floor_reference(check: _Checker, entry: dict, path: str, floor_keys: set[str]) -> str | None:
    floor = check.string(entry, "floor", path, None, max_length=64)
    if floor is not None and floor not in floor_keys:
        check.error(_join(path, "floor"), f"unknown floor {floor!r}" + _hint(floor_keys))
        return None
    return floor


# --------------------------------------------------------------------------- entry points

TOP_LEVEL_KEYS = ("site", "locations", "services", "staff", "floors", "desks", "rooms")


def validate_document(document: dict[str, Any], app_timezone: str) -> ParsedSite:
    """Validate a decoded TOML document; raise ``SiteFileInvalid`` with every error found.

    References are checked against the keys written in the file, even where the referenced
    entry itself has errors (so one mistake is reported once, at its place)."""
    check = _Checker()
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            check.error(key, f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    site = _site_section(check, document, app_timezone)
    locations = _locations(check, document)
    location_keys = _declared_keys(document, "locations")
    services = _services(check, document, location_keys)
    service_keys = _declared_keys(document, "services")
    known_services = {key: ServiceSpec(key=key, name={}, duration_minutes=0, locations=[]) for key in service_keys}
    known_services.update({service.key: service for service in services})
    staff = _staff(check, document, location_keys, known_services)
    floors = _floors(check, document)
    floor_keys = _declared_keys(document, "floors")
    desks = _desks(check, document, floor_keys)
    rooms = _rooms(check, document, floor_keys)
    if check.errors or site is None:
        raise SiteFileInvalid(check.errors or [SiteError("site", "missing")])
    return ParsedSite(site=site, locations=locations, services=services, staff=staff, floors=floors,
                      desks=desks, rooms=rooms)


def _declared_keys(document: dict, name: str) -> set[str]:
    value = document.get(name, [])
    if not isinstance(value, list):
        return set()
    return {entry["key"] for entry in value if isinstance(entry, dict) and isinstance(entry.get("key"), str)}


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
