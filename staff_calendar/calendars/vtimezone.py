"""VTIMEZONE components that every common parser reads the same way.

icalendar's own generator writes the transitions as multi-valued ``RDATE`` lines; vobject (which
Radicale uses to re-serialise what it stores) keeps only the first value, so a stored VTIMEZONE
was wrong for later dates. Rules here:

- a zone whose transitions follow a yearly rule ("last Sunday of March at 02:00") over the checked
  range is written as Thunderbird, Apple and Google write it: one ``DAYLIGHT`` and one ``STANDARD``
  with ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..``; the ``DTSTART`` of each lies at the first year
  (back to 1970) from which the rule holds, so the component is right from then on and for ever
  after while the rule lasts;
- any other zone (a rule change inside the range, irregular transitions) gets one ``RDATE`` per
  line, plus an observance for the state at the start of the range (a zone without transitions:
  only that one); the first onset is repeated as an ``RDATE`` (legal, duplicates count once), as
  the strict ``ical`` library takes onsets only from RRULE and RDATE;
- ``DTSTART`` of an observance is the local time of the onset in the offset before it (RFC 5545).

Transitions are computed from ``zoneinfo`` (the system's tz database) and cached per zone and range.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

DAY = 86400
EARLIEST_RULE_YEAR = 1970
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    at: int  # POSIX seconds of the change
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def onset(self) -> datetime:
        """The local wall-clock time of the change, in the offset before it (naive)."""
        return datetime.fromtimestamp(self.at, UTC).replace(tzinfo=None) + self.offset_from

    @property
    def kind(self) -> tuple:
        return (self.daylight, self.offset_from, self.offset_to, self.name)


def _state(zone: ZoneInfo, moment: int) -> tuple[timedelta, bool, str]:
    local = datetime.fromtimestamp(moment, zone)
    return local.utcoffset(), bool(local.dst()), local.tzname() or ""


@lru_cache(maxsize=256)
def transitions_in_year(key: str, year: int) -> tuple[Transition, ...]:
    """Every change of offset (or of daylight saving) of zone ``key`` in ``year`` (UTC)."""
    zone = ZoneInfo(key)
    moment = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    state = _state(zone, moment)
    found = []
    while moment < end:
        step = min(moment + DAY, end)
        after = _state(zone, step)
        if after[:2] != state[:2]:
            low, high = moment, step  # the state changes in (low, high]: bisect to the second
            while high - low > 1:
                middle = (low + high) // 2
                if _state(zone, middle)[:2] == state[:2]:
                    low = middle
                else:
                    high = middle
            changed = _state(zone, high)
            found.append(Transition(high, state[0], changed[0], changed[2], changed[1]))
            state, moment = changed, high
            continue
        state, moment = after, step
    return tuple(found)


def _yearly_rule(transitions: list[Transition]) -> str | None:
    """``BYMONTH=..;BYDAY=..`` when every transition is the same weekday of the same month at the same
    local time (n-th or last), else None."""
    onsets = [t.onset for t in transitions]
    first = onsets[0]
    if any((o.month, o.weekday(), o.time()) != (first.month, first.weekday(), first.time()) for o in onsets):
        return None
    weekday = WEEKDAY_CODES[first.weekday()]
    if all(o.day + 7 > month_calendar.monthrange(o.year, o.month)[1] for o in onsets):
        return f"BYMONTH={first.month};BYDAY=-1{weekday}"
    nth = {(o.day - 1) // 7 + 1 for o in onsets}
    return f"BYMONTH={first.month};BYDAY={nth.pop()}{weekday}" if len(nth) == 1 else None


def _year_pattern(key: str, year: int) -> dict[tuple, Transition] | None:
    """The year's transitions by kind, if there is exactly one of each of two kinds."""
    found = transitions_in_year(key, year)
    by_kind = {t.kind: t for t in found}
    return by_kind if len(found) == 2 and len(by_kind) == 2 else None


@lru_cache(maxsize=64)
def _rule_observances(key: str, first_year: int, last_year: int) -> tuple[tuple[Transition, str], ...] | None:
    """(first transition, RRULE) per kind when one yearly rule covers ``first_year..last_year``."""
    patterns = [_year_pattern(key, year) for year in range(first_year, last_year + 1)]
    if any(p is None or set(p) != set(patterns[0]) for p in patterns):
        return None
    rules = {kind: _yearly_rule([p[kind] for p in patterns]) for kind in patterns[0]}
    if any(rule is None for rule in rules.values()):
        return None
    start_year = first_year
    while start_year > EARLIEST_RULE_YEAR:  # extend back while the same rule holds
        earlier = _year_pattern(key, start_year - 1)
        if earlier is None or set(earlier) != set(rules) or any(
                _yearly_rule([earlier[kind], patterns[0][kind]]) != rule for kind, rule in rules.items()):
            break
        patterns.insert(0, earlier)
        start_year -= 1
    return tuple((patterns[0][kind], rule) for kind, rule in sorted(rules.items(), key=lambda i: i[0][0]))


def _observance(daylight: bool, start: datetime, offset_from: timedelta, offset_to: timedelta,
                name: str) -> icalendar.cal.Component:
    component = icalendar.TimezoneDaylight() if daylight else icalendar.TimezoneStandard()
    component.add("dtstart", start)
    component.add("tzoffsetfrom", offset_from)
    component.add("tzoffsetto", offset_to)
    if name:
        component.add("tzname", name)
    return component


def vtimezone(zone: ZoneInfo, first_year: int, last_year: int) -> icalendar.Timezone:
    """The VTIMEZONE of ``zone``, exact at least for the years ``first_year..last_year``."""
    key = zone.key
    timezone = icalendar.Timezone()
    timezone.add("tzid", key)
    rules = _rule_observances(key, first_year, last_year)
    if rules is not None:
        for transition, rule in rules:
            component = _observance(transition.daylight, transition.onset, transition.offset_from,
                                    transition.offset_to, transition.name)
            component.add("rrule", icalendar.vRecur.from_ical(f"FREQ=YEARLY;{rule}"))
            timezone.add_component(component)
        return timezone
    start = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    offset, daylight, name = _state(zone, start)
    initial = _observance(daylight, datetime(first_year, 1, 1), offset, offset, name)
    initial.add("rdate", datetime(first_year, 1, 1))
    timezone.add_component(initial)
    groups: dict[tuple, list[Transition]] = {}
    for year in range(first_year, last_year + 1):
        for transition in transitions_in_year(key, year):
            groups.setdefault(transition.kind, []).append(transition)
    for (is_daylight, offset_from, offset_to, name), members in groups.items():
        component = _observance(is_daylight, members[0].onset, offset_from, offset_to, name)
        for member in members:  # one value per line: every parser reads every line
            component.add("rdate", member.onset)
        timezone.add_component(component)
    return timezone


def set_timezones(calendar: icalendar.Calendar, first_year: int, last_year: int) -> None:
    """Write our VTIMEZONE for every IANA zone the calendar's components use (replacing any other
    VTIMEZONE of that TZID, e.g. one a server re-serialised); other TZIDs keep theirs. The
    VTIMEZONEs come first, as the common clients write them."""
    used = sorted(calendar.get_used_tzids())
    ours = {}
    for tzid in used:
        try:
            ours[tzid] = vtimezone(ZoneInfo(tzid), first_year, last_year)
        except (ValueError, KeyError, OSError):  # not an IANA name (e.g. Outlook's): keep the client's
            continue
    if not ours:
        return
    kept = [c for c in calendar.subcomponents if not (c.name == "VTIMEZONE" and str(c.get("TZID")) in ours)]
    calendar.subcomponents[:] = [ours[tzid] for tzid in used if tzid in ours] + kept
