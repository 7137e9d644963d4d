"""iCalendar: events this platform writes (reading remote objects: ``reading``).

Rules for writing: the UID is deterministic, times are written in the site zone with a VTIMEZONE
every common parser reads alike (``vtimezone``), no METHOD in stored objects, only the fields
callers pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from staff_calendar.calendars import vtimezone

PRODID = "-//Municipal Services Platform//Termine//DE"
OWN_PROPERTY = "X-MUNICIPAL-PORTAL"
# fields of our events that a merge after a 412 may overwrite (everything else stays as the remote has it)
MANAGED_FIELDS = ("summary", "start", "end", "location", "description", "transparent", "status", "class",
                  "categories", "rrule")


def new_calendar(method: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def add_timezones(calendar: icalendar.Calendar, moments: list[datetime]) -> None:
    """VTIMEZONE for the zones used (``vtimezone``: a yearly RRULE where the zone has one), exact at
    least from the year before the first moment to the year after the last one."""
    if not moments:
        return
    vtimezone.set_timezones(calendar, min(m.year for m in moments) - 1, max(m.year for m in moments) + 1)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz)


def build_event(payload: dict, *, uid: str, sequence: int, tz: ZoneInfo, own_marker: str | None = None,
                status: str | None = None) -> icalendar.Event:
    """A VEVENT from an outbox payload (``start``/``end`` ISO strings or datetimes, aware).

    ``stamp`` (optional, aware): DTSTAMP and LAST-MODIFIED, so a feed read twice is byte-identical;
    without it DTSTAMP is now (iTIP and CalDAV writes). ``room`` (optional ``{"name", "address"}``):
    the booked room as ``ATTENDEE;CUTYPE=ROOM`` (RFC 5545 3.2.3), which clients show as the room."""
    start = _as_datetime(payload["start"])
    end = _as_datetime(payload["end"])
    event = icalendar.Event()
    event.add("uid", uid)
    stamp = payload.get("stamp")
    if stamp:
        event.add("dtstamp", _as_datetime(stamp).astimezone(UTC))
        event.add("last-modified", _as_datetime(stamp).astimezone(UTC))
    else:
        event.add("dtstamp", datetime.now(UTC))
    if payload.get("all_day"):  # whole days: DTSTART;VALUE=DATE (the dates in the calendar's zone)
        event.add("dtstart", _local(start, tz).date())
        event.add("dtend", _local(end, tz).date())
    else:
        event.add("dtstart", _local(start, tz))
        event.add("dtend", _local(end, tz))
    event.add("sequence", sequence)
    event.add("summary", payload.get("summary") or "")
    if payload.get("location"):
        event.add("location", payload["location"])
    if payload.get("description"):
        event.add("description", payload["description"])
    event.add("transp", "TRANSPARENT" if payload.get("transparent") else "OPAQUE")
    status = status or payload.get("status")
    if status:
        event.add("status", status)
    if payload.get("class"):
        event.add("class", payload["class"])
    if payload.get("categories"):
        event.add("categories", list(payload["categories"]))
    if payload.get("rrule"):
        event.add("rrule", icalendar.vRecur.from_ical(payload["rrule"]))
    room = payload.get("room")
    if room and room.get("address"):
        event.add("attendee", f"mailto:{room['address']}",
                  parameters={"CUTYPE": "ROOM", "ROLE": "NON-PARTICIPANT", "PARTSTAT": "ACCEPTED",
                              "RSVP": "FALSE", "CN": room.get("name") or room["address"]})
    if own_marker:
        event.add(OWN_PROPERTY, own_marker)
    return event


def event_ics(payload: dict, *, uid: str, sequence: int, tz: ZoneInfo, own_marker: str) -> str:
    calendar = new_calendar()
    calendar.add_component(build_event(payload, uid=uid, sequence=sequence, tz=tz, own_marker=own_marker))
    add_timezones(calendar, [_as_datetime(payload["start"]), _as_datetime(payload["end"])])
    return calendar.to_ical().decode()


def merge_event(remote_ics: str, payload: dict, base: dict | None, *, uid: str, our_sequence: int, tz: ZoneInfo,
                own_marker: str) -> tuple[str, int]:
    """Apply our change onto the remote's current version (after a 412).

    Only the fields that changed between ``base`` (what the server last got from us) and ``payload``
    are written; everything else keeps the remote's value. SEQUENCE becomes max(remote, ours) + 1.
    Returns the new iCalendar text and the SEQUENCE written."""
    calendar = icalendar.Calendar.from_ical(remote_ics)
    masters = [c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" not in c]
    if not masters:
        raise ValueError("remote object has no VEVENT")
    event = masters[0]
    changed = [f for f in MANAGED_FIELDS if base is None or base.get(f) != payload.get(f)]
    if (base or {}).get("all_day") != payload.get("all_day"):  # dates ↔ date-times: both ends anew
        changed = list(dict.fromkeys([*changed, "start", "end"]))
    ours = build_event(payload, uid=uid, sequence=0, tz=tz)
    names = {"summary": "SUMMARY", "start": "DTSTART", "end": "DTEND", "location": "LOCATION",
             "description": "DESCRIPTION", "transparent": "TRANSP", "status": "STATUS", "class": "CLASS",
             "categories": "CATEGORIES", "rrule": "RRULE"}
    for field in changed:
        name = names[field]
        if name in event:
            del event[name]
        if name in ours:
            event[name] = ours[name]
        if name == "DTEND" and "DURATION" in event:
            del event["DURATION"]
    remote_sequence = int(event.get("SEQUENCE", 0) or 0)
    sequence = max(remote_sequence, our_sequence) + 1
    if "SEQUENCE" in event:
        del event["SEQUENCE"]
    event.add("sequence", sequence)
    if "DTSTAMP" in event:
        del event["DTSTAMP"]
    event.add("dtstamp", datetime.now(UTC))
    if OWN_PROPERTY not in event:
        event.add(OWN_PROPERTY, own_marker)
    moments = [_as_datetime(payload["start"]), _as_datetime(payload["end"])]
    add_timezones(calendar, moments)
    return calendar.to_ical().decode(), sequence


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
