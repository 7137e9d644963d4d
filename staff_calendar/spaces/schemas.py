"""Turn request strings (form fields, JSON values) into typed values; no rules here."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l, site_timezone


def parse_date(value: Any, field: str = "date") -> date:
    if not isinstance(value, str) or not value:
        raise Invalid(fields={field: _l("Bitte geben Sie ein Datum an (JJJJ-MM-TT).")})
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(fields={field: _l("Bitte geben Sie ein Datum an (JJJJ-MM-TT).")}) from None


def parse_optional_date(value: Any, default: date, field: str = "date") -> date:
    return default if value in (None, "") else parse_date(value, field)


def parse_datetime(value: Any, field: str) -> datetime:
    """ISO 8601; without an offset the time is read in the site's time zone."""
    if not isinstance(value, str) or not value:
        raise Invalid(fields={field: _l("Bitte geben Sie Datum und Uhrzeit an.")})
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(fields={field: _l("Bitte geben Sie Datum und Uhrzeit an.")}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=site_timezone())
    return moment


def parse_local_time(day: date, value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise Invalid(fields={field: _l("Bitte geben Sie eine Uhrzeit an.")})
    try:
        moment = time.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(fields={field: _l("Bitte geben Sie eine Uhrzeit an.")}) from None
    return datetime.combine(day, moment, tzinfo=site_timezone())


def parse_int(value: Any, field: str, *, default: int | None = None, minimum: int = 0, maximum: int = 10_000) -> int:
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool):
        raise Invalid(fields={field: _l("Bitte geben Sie eine Zahl an.")})
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(fields={field: _l("Bitte geben Sie eine Zahl an.")}) from None
    if not minimum <= number <= maximum:
        raise Invalid(fields={field: _l("Bitte geben Sie eine Zahl von %(min)s bis %(max)s an.",
                                        min=minimum, max=maximum)})
    return number


def parse_str(value: Any, field: str, *, required: bool = True, max_length: int = 200) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(fields={field: _l("Bitte geben Sie einen Text an.")})
    value = value.strip()
    if required and not value:
        raise Invalid(fields={field: _l("Bitte füllen Sie dieses Feld aus.")})
    if len(value) > max_length:
        raise Invalid(fields={field: _l("Höchstens %(n)s Zeichen.", n=max_length)})
    return value


def parse_part(value: Any) -> str:
    if value not in ("day", "morning", "afternoon"):
        raise Invalid(fields={"part": _l("Bitte wählen Sie ganzer Tag, Vormittag oder Nachmittag.")})
    return value


def parse_weekdays(values: list[Any]) -> tuple[int, ...]:
    days = set()
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(fields={"weekdays": _l("Bitte wählen Sie Wochentage aus.")}) from None
        if not 0 <= number <= 6:
            raise Invalid(fields={"weekdays": _l("Bitte wählen Sie Wochentage aus.")})
        days.add(number)
    return tuple(sorted(days))
