"""Days of the week and the public holidays of a German Bundesland: one lookup for every package.

``WEEKDAYS`` are the keys of every opening-hours table (``{"mon": ["08:00-12:00"], ...}``);
``is_public_holiday`` answers from the ``holidays`` package for the site's Bundesland (``None``:
the nationwide holidays only), cached per region and year."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_key(day: date) -> str:
    return WEEKDAYS[day.weekday()]


@lru_cache(maxsize=128)
def _calendar(region: str | None, year: int) -> dict[date, str]:
    try:
        return dict(holidays.country_holidays("DE", subdiv=region or None, years=year))
    except NotImplementedError:  # an unknown region code: the nationwide holidays
        return dict(holidays.country_holidays("DE", years=year))


def public_holidays(region: str | None, year: int) -> frozenset[date]:
    return frozenset(_calendar(region, year))


def is_public_holiday(day: date, region: str | None) -> bool:
    return day in _calendar(region, day.year)


def holiday_name(day: date, region: str | None) -> str | None:
    return _calendar(region, day.year).get(day)


def german_regions() -> list[str]:
    """Bundesland codes the ``holidays`` package knows for Germany (two letters, e.g. BW, BY)."""
    return sorted(code for code in holidays.country_holidays("DE").subdivisions if len(code) == 2 and code.isupper())
