"""Reading remote calendar objects: what the mirror keeps of them (``minimal``) and their busy time.

Rules for busy time (all results aware UTC, within the window asked for):
- recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are expanded with
  ``recurring-ical-events``, in growing steps from the window start, never beyond the window;
- all-day (DATE) events are busy from local midnight to local midnight in the site zone;
- floating times are read in the site zone; times with a TZID are converted;
- ``TRANSP:TRANSPARENT`` and ``STATUS:CANCELLED`` are not busy; zero-length events are not busy;
- events this platform wrote (UID ``…@<PORTAL_EVENT_UID_DOMAIN>`` or ``X-MUNICIPAL-PORTAL``) are not
  busy here (they are counted from the database) and nothing of them is kept;
- reading is capped per object (``Limits``: ``CALDAV_EXPANSION_MAX_OCCURRENCES`` occurrences and
  ``CALDAV_EXPANSION_SECONDS``, parsing included). Beyond a cap the object keeps the occurrences
  found before the cut and is busy from the cut (not before its start) to the window end, so a cut
  never offers a time the calendar may hold; the object carries a warning that names the rule and
  the times, never its text (``capped: …``, ``timeout: …``, ``unreadable: …``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from flask import current_app

from citizen_portal.core.intervals import merge_intervals
from staff_calendar.calendars import minimal
from staff_calendar.calendars.ical import OWN_PROPERTY
from staff_calendar.calendars.time_limit import run_with_time_limit

PAD = timedelta(days=2)  # floating/all-day matching in r-i-e may differ by the zone offset


@dataclass(frozen=True)
class Limits:
    """How much work reading one object may take."""

    occurrences: int
    seconds: float

    @classmethod
    def from_config(cls) -> Limits:
        return cls(occurrences=int(current_app.config["CALDAV_EXPANSION_MAX_OCCURRENCES"]),
                   seconds=float(current_app.config["CALDAV_EXPANSION_SECONDS"]))


@dataclass
class ReadObject:
    uid: str | None
    own: bool
    stored: str | None  # what ``calendar_objects.data`` keeps (``minimal.keep``), None for own/unreadable
    intervals: list[tuple[datetime, datetime]]
    warning: str | None = None


@dataclass
class _Progress:
    """What reading one object got done; filled as it goes, so a timeout keeps the finished part."""

    calendar: icalendar.Calendar | None = None
    uid: str | None = None
    own: bool = False
    stored: str | None = None
    error: str | None = None
    found: dict[tuple[datetime, datetime], bool] = field(default_factory=dict)  # occurrence -> busy
    cursor: datetime | None = None  # every occurrence starting before it is in ``found``
    cut: datetime | None = None  # set when the occurrence cap was reached
    done: bool = False


def is_own_uid(uid: str | None, domain: str) -> bool:
    return bool(uid) and str(uid).endswith("@" + domain)


def is_busy_component(component) -> bool:
    if str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(component.get("STATUS", "")).upper() != "CANCELLED"


def _to_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating: read in the site zone
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=tz).astimezone(UTC)


def _span(component, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    dtstart = component.get("DTSTART")
    if dtstart is None:
        return None
    start_value = dtstart.dt
    dtend = component.get("DTEND")
    if dtend is not None:
        end_value = dtend.dt
    elif component.get("DURATION") is not None:
        end_value = start_value + component.get("DURATION").dt
    elif isinstance(start_value, datetime):
        end_value = start_value
    else:
        end_value = start_value + timedelta(days=1)
    return _to_utc(start_value, tz), _to_utc(end_value, tz)


def _earliest(calendar: icalendar.Calendar, tz: ZoneInfo) -> datetime | None:
    """No occurrence starts before the earliest DTSTART, RDATE or RECURRENCE-ID of the object."""
    moments = []
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "RECURRENCE-ID"):
            if event.get(name) is not None:
                moments.append(event.get(name).dt)
        rdates = event.get("RDATE")
        for rdate in rdates if isinstance(rdates, list) else [rdates] if rdates is not None else []:
            moments.extend(period[0] if isinstance(period, tuple) else period for period in (p.dt for p in rdate.dts))
    return min((_to_utc(m, tz) for m in moments), default=None)


FREQ_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
                "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
# BY-parts that add occurrences within one period of a frequency, with how many each value can add
EXPANDING = {"SECONDLY": {}, "MINUTELY": {"BYSECOND": 1}, "HOURLY": {"BYMINUTE": 1, "BYSECOND": 1},
             "DAILY": {"BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
             "WEEKLY": {"BYDAY": 1, "BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
             "MONTHLY": {"BYMONTHDAY": 1, "BYDAY": 5, "BYHOUR": 1, "BYMINUTE": 1, "BYSECOND": 1},
             "YEARLY": {"BYMONTH": 1, "BYWEEKNO": 7, "BYYEARDAY": 1, "BYMONTHDAY": 12, "BYDAY": 53, "BYHOUR": 1,
                        "BYMINUTE": 1, "BYSECOND": 1}}


def _first_step(calendar: icalendar.Calendar, span: timedelta, cap: int) -> timedelta:
    """A first step that holds about a quarter of ``cap`` occurrences of the densest rule (a guess
    from FREQ, INTERVAL and the BY-lists: a wrong guess costs time, which the time cap bounds)."""
    step = span
    for event in calendar.walk("VEVENT"):
        for rule in _rules(event):
            freq = str((rule.get("FREQ") or ["?"])[0]).upper()
            if freq not in FREQ_SECONDS:
                continue
            per_period = 1
            for part, factor in EXPANDING[freq].items():
                per_period *= len(rule.get(part) or [None]) * (factor if rule.get(part) else 1)
            interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
            seconds = FREQ_SECONDS[freq] * interval * max(cap // 4, 1) / per_period
            step = min(step, timedelta(seconds=max(seconds, 60)))
    return step


def _expand(progress: _Progress, start: datetime, end: datetime, tz: ZoneInfo, cap: int) -> None:
    """Occurrences overlapping [start - PAD, end + PAD) (from PAD before the object's earliest start), in
    steps that double while they stay sparse, until the window is done or more than ``cap`` distinct
    occurrences were seen."""
    query = recurring_ical_events.of(progress.calendar, components=["VEVENT"])
    earliest = _earliest(progress.calendar, tz)
    cursor, stop_at = max(start, earliest or start) - PAD, end + PAD
    step = _first_step(progress.calendar, stop_at - cursor, cap)
    progress.cursor = cursor
    stop = max(cursor, earliest or cursor) + step  # the first step counts from the earliest start
    while cursor < stop_at:
        stop = min(stop, stop_at)
        batch = query.between(cursor, stop)
        for occurrence in batch:
            span = _span(occurrence, tz)
            if span is not None:
                busy = is_busy_component(occurrence) and span[1] > span[0]
                progress.found[span] = progress.found.get(span, False) or busy
        if len(progress.found) > cap:
            progress.cut = sorted(progress.found)[cap][0]
            return
        cursor = progress.cursor = stop
        if len(batch) * 16 < cap:
            step *= 2
        stop = cursor + step
    progress.done = True


def _work(progress: _Progress, data: str, start: datetime, end: datetime, tz: ZoneInfo, own_domain: str,
          cap: int, store: bool) -> None:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # one unreadable object does not block the calendar
        progress.error = type(exc).__name__
        return
    events = list(calendar.walk("VEVENT"))
    progress.uid = next((str(e.get("UID")) for e in events if e.get("UID")), None)
    progress.own = is_own_uid(progress.uid, own_domain) or any(OWN_PROPERTY in e for e in events)
    if progress.own or not events:
        progress.done = True
        return
    kept = minimal.keep(calendar)
    if store:
        progress.stored = kept.to_ical().decode()
    progress.calendar = kept
    try:
        _expand(progress, start, end, tz, cap)
    except Exception as exc:  # e.g. a rule recurring-ical-events cannot read
        progress.error = type(exc).__name__
        progress.found.clear()
        progress.done = True


def _series(calendar: icalendar.Calendar, tz: ZoneInfo) -> tuple[str, datetime | None]:
    """A description of the object without any of its text: its rule's frequency and first start."""
    events = list(calendar.walk("VEVENT"))
    freqs = sorted({str(rule.get("FREQ", ["?"])[0]) for e in events for rule in _rules(e)})
    starts = [s for s in (_span(e, tz) for e in events) if s is not None]
    first = min(s for s, _ in starts) if starts else None
    kind = f"FREQ={','.join(freqs)} series" if freqs else "event with RDATE or overrides"
    return kind, first


def _rules(event) -> list:
    rules = event.get("RRULE")
    if rules is None:
        return []
    return rules if isinstance(rules, list) else [rules]


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def read_object(data: str, window_start: datetime, window_end: datetime, *, tz: ZoneInfo, own_domain: str,
                limits: Limits, store: bool = True) -> ReadObject:
    """What the mirror keeps of one remote object (``stored``; skipped with ``store=False``), its busy
    intervals overlapping [window_start, window_end), and a warning when a cap applied or it could
    not be read."""
    progress = _Progress()
    timed_out = run_with_time_limit(limits.seconds, lambda: _work(progress, data, window_start, window_end, tz,
                                                                  own_domain, limits.occurrences, store))
    if progress.own:
        return ReadObject(uid=progress.uid, own=True, stored=None, intervals=[])
    if progress.calendar is None:  # never parsed
        warning = (f"unreadable: {progress.error}" if progress.error
                   else f"timeout: reading took longer than {limits.seconds:g} s")
        return ReadObject(uid=progress.uid, own=False, stored=None, intervals=[], warning=warning)
    if progress.error:
        return ReadObject(uid=progress.uid, own=False, stored=progress.stored, intervals=[],
                          warning=f"unreadable: {progress.error}")
    cut = progress.cut
    if cut is None and (timed_out and not progress.done):
        cut = progress.cursor or window_start
    intervals = sorted(span for span, busy in progress.found.items()
                       if busy and (cut is None or span[0] < cut) and span[0] < window_end and span[1] > window_start)
    warning = None
    if cut is not None:
        kind, first = _series(progress.calendar, tz)
        rest_start = max(cut, window_start, first or cut)
        if rest_start < window_end and any(is_busy_component(e) for e in progress.calendar.walk("VEVENT")):
            intervals.append((rest_start, window_end))
        reason = (f"more than {limits.occurrences} occurrences" if progress.cut is not None
                  else f"expanding took longer than {limits.seconds:g} s")
        warning = (f"{'capped' if progress.cut is not None else 'timeout'}: {kind} starting "
                   f"{_moment(first) if first else '?'}, {reason}; busy from {_moment(rest_start)} "
                   "to the end of the mirror window")
    return ReadObject(uid=progress.uid, own=False, stored=progress.stored, intervals=merge_intervals(intervals),
                      warning=warning)
