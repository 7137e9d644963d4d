"""Data minimisation: what the mirror keeps of a remote calendar object (``calendar_objects.data``).

Rules:
- kept of every event, for busy time and its re-expansion when the window moves: UID, DTSTART,
  DTEND, DURATION, RRULE, RDATE, EXDATE, RECURRENCE-ID, TRANSP, STATUS, CLASS and
  X-MICROSOFT-CDO-BUSYSTATUS (free/tentative/busy/oof), plus the zone rules of its VTIMEZONEs and
  the calendar's X-WR-TIMEZONE;
- kept to show an event that is not private (the Graph calendarView): SUMMARY, LOCATION, CATEGORIES;
- an object with any event whose CLASS is not PUBLIC (PRIVATE, CONFIDENTIAL, or a value we do not
  know, which RFC 5545 says to treat as PRIVATE) is kept as busy time without subject: no summary,
  location or categories;
- never kept: descriptions, attendees, organizer, comments, contacts, attachments, URLs, alarms,
  other components (VTODO, VJOURNAL, ...), any other property or X-property;
- our own events (the platform wrote them) are not kept at all: the database holds them.
"""

from __future__ import annotations

import icalendar

BUSY_PROPERTIES = ("UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID",
                   "TRANSP", "STATUS", "CLASS", "X-MICROSOFT-CDO-BUSYSTATUS")
SHOWN_PROPERTIES = ("SUMMARY", "LOCATION", "CATEGORIES")
CALENDAR_PROPERTIES = ("X-WR-TIMEZONE",)  # the zone of floating times (recurring-ical-events reads it)
ZONE_PROPERTIES = ("TZID",)
ZONE_RULE_PROPERTIES = ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "RRULE", "RDATE", "TZNAME")
PRODID = "-//Municipal Services Platform//Mirror//DE"


def is_public(event: icalendar.Component) -> bool:
    return str(event.get("CLASS", "PUBLIC")).strip().upper() == "PUBLIC"


def _copy(component: icalendar.Component, names: tuple[str, ...]) -> icalendar.Component:
    kept = component.__class__()
    for name in names:
        if name in component:
            kept[name] = component[name]
    return kept


def _zone(timezone: icalendar.Component) -> icalendar.Component:
    kept = _copy(timezone, ZONE_PROPERTIES)
    for rule in timezone.subcomponents:
        if rule.name in ("STANDARD", "DAYLIGHT"):
            kept.add_component(_copy(rule, ZONE_RULE_PROPERTIES))
    return kept


def keep(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """The part of a remote object the mirror may store (see the module's rules)."""
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    names = BUSY_PROPERTIES + (SHOWN_PROPERTIES if all(is_public(e) for e in events) else ())
    kept = icalendar.Calendar()
    kept.add("prodid", PRODID)
    kept.add("version", "2.0")
    for name in CALENDAR_PROPERTIES:
        if name in calendar:
            kept[name] = calendar[name]
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            kept.add_component(_zone(component))
        elif component.name == "VEVENT":
            kept.add_component(_copy(component, names))
    return kept
