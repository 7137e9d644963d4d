"""Reading the values of a site file: ``Checker`` collects every error while each reader returns a
usable value or ``None``.

Rules enforced here: unknown/missing keys and wrong types, numbers in range, non-empty strings,
``key`` syntax and uniqueness per kind, texts in the known languages (German required), weekly hours
(weekday keys, ``"HH:MM-HH:MM"`` with start before end, no overlaps), dates that exist, calendar
references with secrets only by reference (``password`` rejected), references to declared keys.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from citizen_portal.core.calendar_days import WEEKDAYS

from .specs import CalendarSpec, Localized, OpeningHours, SiteError

LANGUAGES = ("de", "en")
LEGAL_PAGES = ("impressum", "datenschutz", "barrierefreiheit")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
RANGE_PATTERN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
CLOCK_PATTERN = re.compile(r"^(\d{2}):(\d{2})$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_HINT = ('never write a password into the site file: use password_env = "NAME" (an environment variable) '
               'or password_file = "name" (a file in instance/)')


_MISSING = object()


class Checker:
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
