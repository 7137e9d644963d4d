"""How the citizen pages show days with free times: each day announced in full, a list grouped by
calendar week and a month table (Monday first), in the request's locale. Presentation only: which
days have free times is ``services.days_with_slots``."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date, ngettext

from citizen_portal.core.i18n import _
from citizen_portal.core.schemas import MAX_YEAR, MIN_YEAR


def month_of(value: str | None, today: date) -> date:
    """The first day of the month ``YYYY-MM`` (``?monat=``), years ``MIN_YEAR``..``MAX_YEAR`` so the
    neighbouring months exist; anything else: this month."""
    try:
        year, month = (int(part) for part in (value or "").split("-", 1))
        if MIN_YEAR <= year <= MAX_YEAR:
            return date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def free_times_text(count: int) -> str:
    return ngettext("%(num)s freier Termin", "%(num)s freie Termine", count)


def day_label(day: date, count: int | None = None) -> str:
    """``Dienstag, 1. Dezember 2026, 5 freie Termine``: how a day is announced everywhere."""
    text = format_date(day, "full")
    return f"{text}, {free_times_text(count)}" if count is not None else text


@dataclass
class WeekGroup:
    first: date
    last: date
    days: list[tuple[date, int]]

    @property
    def label(self) -> str:
        return _("Woche vom %(first)s bis %(last)s", first=format_date(self.first, "long"),
                 last=format_date(self.last, "long"))


def group_by_week(counts: dict[date, int]) -> list[WeekGroup]:
    """Days with free times grouped by calendar week (Monday to Sunday)."""
    groups: list[WeekGroup] = []
    for day, count in sorted(counts.items()):
        monday = day - timedelta(days=day.weekday())
        if not groups or groups[-1].first != monday:
            groups.append(WeekGroup(monday, monday + timedelta(days=6), []))
        groups[-1].days.append((day, count))
    return groups


def month_weeks(first: date) -> list[list[date | None]]:
    """The month as weeks of seven cells (Monday first), ``None`` outside the month."""
    return [[day if day.month == first.month else None for day in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)]


def weekday_names() -> list[tuple[str, str]]:
    """(abbreviation, full name) Monday to Sunday in the request's locale."""
    monday = date(2024, 1, 1)
    return [(format_date(monday + timedelta(days=n), "EEE"), format_date(monday + timedelta(days=n), "EEEE"))
            for n in range(7)]


def next_free_slot(service, location, today: date, last_bookable: date):
    """The "nächster freier Termin" shortcut: the earliest free time of ``service`` at ``location``
    within ``MAX_RANGE_DAYS`` (and the horizon), or ``None``."""
    from citizen_portal.booking import services as booking

    last = min(today + timedelta(days=booking.MAX_RANGE_DAYS - 1), last_bookable)
    counts = booking.days_with_slots(service.key, today, last, location_key=location.key) if last >= today else {}
    if not counts:
        return None
    first = min(counts)
    return next(iter(booking.find_slots(service.key, first, first, location_key=location.key)), None)
