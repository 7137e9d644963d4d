"""Every event of a calendar in a time range, for the Graph calendarView and getSchedule.

Sources, each event once:
- events Graph clients wrote (``GraphEvent``: everything the client sent);
- the platform's other events in this calendar (appointments, room and desk bookings): the outbox
  rows of the calendar (their desired state), unless the event was removed;
- everything else on the CalDAV server: the mirror (``calendar_objects``, kept by ``minimal.keep``),
  recurrences expanded within the range (capped like the mirror's reading: ``reading.Limits``).

Privacy: an event whose CLASS is not PUBLIC is only busy time (``private``: no subject, location or
categories; the mirror does not even keep them). ``show_as`` follows TRANSP, STATUS and
``X-MICROSOFT-CDO-BUSYSTATUS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.graph import zone_named
from citizen_portal.core.i18n import site_timezone
from staff_calendar.calendars.graph_recurrence import occurrences
from staff_calendar.calendars.models import BusyInterval, CalendarObject, CalendarSyncState, GraphEvent, OutboxEntry
from staff_calendar.calendars.reading import Limits
from staff_calendar.calendars.time_limit import run_with_time_limit

SENSITIVITY = {"PUBLIC": "normal", "PRIVATE": "private", "CONFIDENTIAL": "confidential"}
BUSY_STATUS = {"FREE": "free", "TENTATIVE": "tentative", "BUSY": "busy", "OOF": "oof",
               "WORKINGELSEWHERE": "workingElsewhere"}


@dataclass
class CalendarItem:
    """One event or occurrence; times aware UTC. ``occurrence`` is the recurrence instance's start
    (UTC) for an occurrence of a series, else ``None``."""

    uid: str
    start: datetime
    end: datetime
    source: str  # "graph" | "platform" | "calendar"
    subject: str | None = None
    location: str | None = None
    body: str | None = None
    categories: list[str] = field(default_factory=list)
    show_as: str = "busy"
    sensitivity: str = "normal"
    cancelled: bool = False
    all_day: bool = False
    occurrence: datetime | None = None
    series: bool = False
    change_key: str = ""
    record: GraphEvent | None = None

    @property
    def private(self) -> bool:
        return self.sensitivity != "normal"

    @property
    def blocks(self) -> bool:
        """Whether the time counts as taken (getSchedule)."""
        return not self.cancelled and self.show_as not in ("free", "workingElsewhere")


def change_key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def graph_item(event: GraphEvent, occurrence: tuple[datetime, datetime] | None = None) -> CalendarItem:
    """The event (a series: its master, starting at the first occurrence) or one occurrence of it."""
    start, end = occurrence or (event.start_at, event.end_at)
    return CalendarItem(uid=event.uid, start=start, end=end, source="graph",
                        subject=event.subject, location=event.location, body=event.body,
                        categories=list(event.categories or []), show_as=event.show_as,
                        sensitivity=event.sensitivity, cancelled=event.is_cancelled, all_day=event.is_all_day,
                        occurrence=start if occurrence else None, series=bool(event.rrule),
                        change_key=event.change_key, record=event)


def graph_items(event: GraphEvent, start: datetime, end: datetime) -> list[CalendarItem]:
    """The event, or every occurrence of a series, overlapping ``[start, end)``."""
    if not event.rrule:
        return [graph_item(event)] if event.start_at < end and event.end_at > start else []
    zone = zone_named(event.time_zone) or site_timezone()
    return [graph_item(event, span)
            for span in occurrences(event.rrule, event.start_at, event.end_at, zone, start, end)]


def outbox_item(row: OutboxEntry) -> CalendarItem | None:
    payload = row.payload or {}
    if row.action != "upsert" or not payload.get("start"):
        return None
    return CalendarItem(uid=row.uid, start=datetime.fromisoformat(payload["start"]),
                        end=datetime.fromisoformat(payload["end"]), source="platform",
                        subject=payload.get("summary"), location=payload.get("location"),
                        categories=list(payload.get("categories") or []),
                        show_as="free" if payload.get("transparent") else "busy",
                        sensitivity=SENSITIVITY.get(str(payload.get("class") or "PUBLIC"), "private"),
                        cancelled=payload.get("status") == "CANCELLED",
                        change_key=change_key(row.uid, row.revision))


def calendar_items(calendar_key: str, start: datetime, end: datetime, *, platform: bool = True) -> list[CalendarItem]:
    """Every event of the calendar overlapping ``[start, end)``, sorted by start (see the module's rules).
    ``platform=False`` leaves out the platform's own outbox events (a caller that holds them itself)."""
    items: list[CalendarItem] = []
    graph_uids: set[str] = set()
    for event in db.session.scalars(select(GraphEvent).where(GraphEvent.calendar_key == calendar_key)):
        graph_uids.add(event.uid)
        items.extend(graph_items(event, start, end))
    if platform:
        for row in db.session.scalars(select(OutboxEntry).where(OutboxEntry.calendar_key == calendar_key)):
            if row.uid in graph_uids:
                continue
            item = outbox_item(row)
            if item is not None and item.start < end and item.end > start:
                items.append(item)
    items.extend(mirrored_items(calendar_key, start, end))
    return sorted(items, key=lambda item: (item.start, item.end, item.uid))


def _idle_hrefs(calendar_key: str, start: datetime, end: datetime) -> set[str]:
    """Objects that are busy somewhere in the mirror window but not in ``[start, end)``: nothing of theirs
    can be in the range (short of a free occurrence there), so they need not be expanded. Only when the
    range lies within the mirrored window (outside it the mirror has no busy rows to tell)."""
    state = db.session.get(CalendarSyncState, calendar_key)
    if state is None or state.window_start is None or state.window_end is None or not (
            state.window_start <= start and end <= state.window_end):
        return set()
    busy_somewhere = set(db.session.scalars(select(BusyInterval.href).where(
        BusyInterval.calendar_key == calendar_key).distinct()))
    busy_here = set(db.session.scalars(select(BusyInterval.href).where(
        BusyInterval.calendar_key == calendar_key, BusyInterval.start < end, BusyInterval.end > start).distinct()))
    return busy_somewhere - busy_here


def mirrored_items(calendar_key: str, start: datetime, end: datetime) -> list[CalendarItem]:
    """The mirrored remote events overlapping the range, series expanded (at most ``Limits`` per object).
    Objects whose busy time lies elsewhere are skipped (``_idle_hrefs``); free-only objects are read."""
    limits = Limits.from_config()
    zone = site_timezone()
    items: list[CalendarItem] = []
    idle = _idle_hrefs(calendar_key, start, end)
    objects = [obj for obj in db.session.scalars(select(CalendarObject).where(
        CalendarObject.calendar_key == calendar_key, CalendarObject.own.is_(False),
        CalendarObject.data.is_not(None))) if obj.href not in idle]
    for obj in objects:
        found: list[CalendarItem] = []
        run_with_time_limit(limits.seconds, lambda obj=obj, found=found: _expand(obj, start, end, zone,
                                                                                  limits.occurrences, found))
        items.extend(found)
    return items


def _expand(obj: CalendarObject, start: datetime, end: datetime, zone: ZoneInfo, cap: int,
            found: list[CalendarItem]) -> None:
    try:
        calendar = icalendar.Calendar.from_ical(obj.data or "")
    except Exception:  # an unreadable object shows nothing (the mirror carries its warning)
        return
    recurring = any(e.get("RRULE") or e.get("RDATE") or e.get("RECURRENCE-ID") for e in calendar.walk("VEVENT"))
    for component in recurring_ical_events.of(calendar, components=["VEVENT"]).between(start, end):
        if len(found) >= cap:
            return
        item = _component_item(component, obj, zone, recurring)
        if item is not None and item.start < end and item.end > start:
            found.append(item)


def _to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)


def _component_item(component, obj: CalendarObject, zone: ZoneInfo, recurring: bool) -> CalendarItem | None:
    dtstart = component.get("DTSTART")
    if dtstart is None:
        return None
    first = dtstart.dt
    if component.get("DTEND") is not None:
        last = component.get("DTEND").dt
    elif component.get("DURATION") is not None:
        last = first + component.get("DURATION").dt
    else:
        last = first if isinstance(first, datetime) else first + timedelta(days=1)
    begin, finish = _to_utc(first, zone), _to_utc(last, zone)
    sensitivity = SENSITIVITY.get(str(component.get("CLASS", "PUBLIC")).upper(), "private")
    transparent = str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
    status = BUSY_STATUS.get(str(component.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper())
    show_as = status or ("free" if transparent else "busy")
    if str(component.get("STATUS", "")).upper() == "TENTATIVE" and not status:
        show_as = "tentative"
    private = sensitivity != "normal"
    categories: list[str] = []
    if not private and component.get("CATEGORIES") is not None:
        values = component.get("CATEGORIES")
        for entry in values if isinstance(values, list) else [values]:
            categories.extend(str(c) for c in entry.cats)
    uid = str(component.get("UID") or obj.href)
    return CalendarItem(
        uid=uid, start=begin, end=finish, source="calendar",
        subject=None if private else str(component.get("SUMMARY", "")),
        location=None if private else (str(component.get("LOCATION")) if component.get("LOCATION") else None),
        categories=categories, show_as=show_as, sensitivity=sensitivity,
        cancelled=str(component.get("STATUS", "")).upper() == "CANCELLED",
        all_day=not isinstance(first, datetime), occurrence=begin if recurring else None, series=recurring,
        change_key=change_key(obj.etag, begin.isoformat()))


def find_item(calendar_key: str, uid: str, occurrence: datetime | None) -> CalendarItem | None:
    """One event (or occurrence) of the calendar by UID, from any source."""
    event = db.session.scalar(select(GraphEvent).where(GraphEvent.calendar_key == calendar_key,
                                                       GraphEvent.uid == uid))
    if event is not None:
        if occurrence is None:
            return graph_item(event)
        found = graph_items(event, occurrence - timedelta(seconds=1), occurrence + timedelta(seconds=1))
        return next((item for item in found if item.occurrence == occurrence), None)
    row = db.session.scalar(select(OutboxEntry).where(OutboxEntry.calendar_key == calendar_key,
                                                      OutboxEntry.uid == uid))
    if row is not None:
        return outbox_item(row)
    obj = db.session.scalar(select(CalendarObject).where(CalendarObject.calendar_key == calendar_key,
                                                         CalendarObject.uid == uid,
                                                         CalendarObject.own.is_(False)))
    if obj is None or not obj.data:
        return None
    zone = site_timezone()
    calendar = icalendar.Calendar.from_ical(obj.data)
    if occurrence is None:
        masters = [c for c in calendar.walk("VEVENT") if c.get("RECURRENCE-ID") is None]
        return _component_item(masters[0], obj, zone, False) if masters else None
    found: list[CalendarItem] = []
    _expand(obj, occurrence - timedelta(seconds=1), occurrence + timedelta(seconds=1), zone, 10, found)
    return next((item for item in found if item.occurrence == occurrence), None)
