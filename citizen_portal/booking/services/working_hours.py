"""Working time of a staff member at a location on a local day, in the site zone.

Rules:

- Working time on a local day = the location's opening hours ∩ the staff member's working hours
  (empty/None working hours = the opening hours). Ranges are ``"HH:MM-HH:MM"``; ``24:00`` is the
  end of the day; empty or reversed ranges are ignored.
- Closed on the public holidays of the site's Bundesland (``holidays`` package,
  ``SiteSettings.holidays``); the location's ``closures`` are checked by the slot engine.
- Opening hours are wall-clock times of the local day, converted to UTC per day, so DST days
  (2026-03-29, 2026-10-25 in Europe/Berlin) are right.

Pure functions of their arguments (no queries), cached per process; used by ``slot_engine.plan``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from citizen_portal.core.calendar_days import WEEKDAYS


def _parse_ranges(ranges: list[str] | None) -> list[tuple[time, time]]:
    return list(_parse_ranges_cached(tuple(ranges or ())))


@lru_cache(maxsize=1024)
def _parse_ranges_cached(ranges: tuple[str, ...]) -> tuple[tuple[time, time], ...]:
    parsed = []
    for item in ranges or []:
        start_text, _, end_text = item.partition("-")
        start = time.fromisoformat(start_text.strip())
        end_raw = end_text.strip()
        end = time.max if end_raw in {"24:00", "24:00:00"} else time.fromisoformat(end_raw)
        if end > start:
            parsed.append((start, end))
    return tuple(parsed)


def _local_to_utc(day: date, moment: time, zone: ZoneInfo) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _intersect(first: list[tuple[time, time]], second: list[tuple[time, time]]) -> list[tuple[time, time]]:
    result = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                result.append((start, end))
    return sorted(result)


def working_seconds(opening_hours: dict | None, working_hours: dict | None, day: date,
                    zone: ZoneInfo) -> tuple[tuple[int, int], ...]:
    """The POSIX-second intervals in which a staff member with ``working_hours`` works at a location
    with ``opening_hours`` (the raw week dicts) on the local ``day``; closures and holidays are checked
    by the caller (the slot engine's hot path)."""
    weekday = WEEKDAYS[day.weekday()]
    opening = tuple((opening_hours or {}).get(weekday) or ())
    own = tuple(working_hours.get(weekday) or ()) if working_hours else None
    return _working_seconds_cached(opening, own, day, zone)


@lru_cache(maxsize=8192)
def _working_seconds_cached(opening: tuple[str, ...], own: tuple[str, ...] | None, day: date,
                            zone: ZoneInfo) -> tuple[tuple[int, int], ...]:
    """POSIX-second intervals of opening hours (∩ own working hours) on a local day; wall-clock
    times are converted per day, so DST days are right."""
    ranges = _parse_ranges(list(opening))
    if own is not None:
        ranges = _intersect(ranges, _parse_ranges(list(own)))
    return tuple((int(_local_to_utc(day, a, zone).timestamp()), int(_local_to_utc(day, b, zone).timestamp()))
                 for a, b in ranges)

