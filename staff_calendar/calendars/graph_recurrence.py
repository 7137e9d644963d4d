"""Recurring events written through Graph: Graph's ``recurrence`` as an iCalendar RRULE, and the
occurrences of a series (``GraphEvent.rrule``) in a time range.

Rules:
- patterns ``daily`` and ``weekly`` (``interval`` 1–99; weekly: ``daysOfWeek``, default the start's
  weekday); ranges ``endDate`` (up to the end of that day in the event's zone) and ``numbered``
  (1–``MAX_OCCURRENCES``); ``range.startDate`` is the start's date. Anything else (monthly and yearly
  patterns, ``noEnd``) is refused with ``recurrence_not_supported``;
- the series ends at most ``MAX_SERIES_DAYS`` after its start;
- occurrences (calendarView, getSchedule, the person's busy time for appointments) are expanded from the
  RRULE in the event's own zone (wall-clock times across DST), exactly as
  the CalDAV server expands the RRULE written there (``ical.build_event``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from citizen_portal.core.errors import Invalid
from citizen_portal.core.i18n import _l

MAX_OCCURRENCES = 500
MAX_SERIES_DAYS = 2 * 366
DAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR", "saturday": "SA",
        "sunday": "SU"}


def _unsupported(message: Any) -> Invalid:
    return Invalid(fields={"recurrence": message}, code="recurrence_not_supported")


def to_rrule(recurrence: dict[str, Any], start: datetime, zone: ZoneInfo) -> str:
    """The RRULE of Graph's ``patternedRecurrence`` for a series starting at ``start`` (see the rules)."""
    pattern = recurrence.get("pattern") or {}
    limits = recurrence.get("range") or {}
    kind, range_kind = pattern.get("type"), limits.get("type")
    if kind not in ("daily", "weekly") or range_kind not in ("endDate", "numbered"):
        raise _unsupported(_l("Unterstützt werden Serien täglich oder wöchentlich, bis zu einem Enddatum oder "
                              "mit einer Anzahl von Terminen."))
    try:
        interval = int(pattern.get("interval") or 1)
        local_start = start.astimezone(zone)
        if str(limits.get("startDate") or local_start.date()) != local_start.date().isoformat():
            raise _unsupported(_l("range.startDate muss das Datum des Beginns sein."))
        parts = [f"FREQ={kind.upper()}", f"INTERVAL={interval}"]
        if kind == "weekly":
            days = [DAYS[str(day).lower()] for day in pattern.get("daysOfWeek") or []] or [
                list(DAYS.values())[local_start.weekday()]]
            parts.append("BYDAY=" + ",".join(dict.fromkeys(days)))
            parts.append("WKST=" + DAYS.get(str(pattern.get("firstDayOfWeek") or "monday").lower(), "MO"))
        if range_kind == "numbered":
            count = int(limits.get("numberOfOccurrences") or 0)
            last = local_start + timedelta(days=count * interval * (7 if kind == "weekly" else 1))
            if not 1 <= count <= MAX_OCCURRENCES:
                raise _unsupported(_l("Eine Serie hat 1 bis %(count)s Termine.", count=MAX_OCCURRENCES))
            parts.append(f"COUNT={count}")
        else:
            end_date = date.fromisoformat(str(limits.get("endDate")))
            last = datetime.combine(end_date, time(23, 59, 59), tzinfo=zone)
            if end_date < local_start.date():
                raise _unsupported(_l("Das Enddatum der Serie liegt vor ihrem Beginn."))
            parts.append("UNTIL=" + last.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    except (KeyError, ValueError, TypeError):
        raise _unsupported(_l("Diese Serienangabe ist unvollständig oder nicht lesbar.")) from None
    if interval < 1 or interval > 99 or last - local_start > timedelta(days=MAX_SERIES_DAYS):
        raise _unsupported(_l("Eine Serie reicht höchstens zwei Jahre weit (Abstand 1 bis 99)."))
    return ";".join(parts)


def occurrences(rrule: str, start: datetime, end: datetime, zone: ZoneInfo, window_start: datetime,
                window_end: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) in UTC of every occurrence of the series overlapping ``[window_start, window_end)``."""
    event = icalendar.Event()
    event.add("uid", "series")
    event.add("dtstart", start.astimezone(zone))
    event.add("dtend", end.astimezone(zone))
    event.add("rrule", icalendar.vRecur.from_ical(rrule))
    calendar = icalendar.Calendar()
    calendar.add_component(event)
    found = []
    for component in recurring_ical_events.of(calendar).between(window_start, window_end):
        begin, finish = component["DTSTART"].dt, component["DTEND"].dt
        found.append((begin.astimezone(UTC), finish.astimezone(UTC)))
    return sorted(found)
