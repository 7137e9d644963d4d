"""Events Graph clients write into a staff member's calendar (``POST/PATCH/DELETE /users/{id}/events``).

Rules:
- the database row (``GraphEvent``) and the outbox row for the CalDAV server are written in one
  transaction, under the owner's ``locks.person_day`` of every day the event touches (the lock her
  appointments and room bookings take), and the slot cache learns of it (``announce_bookings_changed``):
  an opaque Graph event blocks her appointments from its commit on (``person_busy.booked_seconds``);
- UID ``graph-<random>@<PORTAL_EVENT_UID_DOMAIN>`` (so the mirror knows it as our own), iCalUId = UID;
- ``transactionId``: a second POST with the same id for the same calendar returns the first event
  (the SDK retries POSTs after 429/503/504), even when both arrive at once (unique constraint);
- ``changeKey`` changes with every change; ``If-Match`` (``W/"<changeKey>"``, the bare key or ``*``)
  that does not match → ``PreconditionFailed`` (412), nothing changes;
- start before end, at most 14 days long; a cancelled event cannot be changed any more;
- an all-day event (``isAllDay``) starts and ends at midnight in its time zone, whole days (written to
  the CalDAV server as dates); a PATCH that keeps it all-day must keep to that;
- a series (``recurrence``, see ``graph_recurrence``) is one event with an RRULE; start and end are its
  first occurrence; moving the start moves the series (its range starts on the new date); the day locks
  cover the first occurrence only;
- cancel keeps the event as ``STATUS:CANCELLED`` (Graph's organizer cancel), delete removes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from citizen_portal.core import locks
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import PreconditionFailed, zone_named
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar import services as calendar
from staff_calendar.calendars.graph_recurrence import to_rrule
from staff_calendar.calendars.models import GraphEvent

MAX_LENGTH = timedelta(days=14)
PRIVACY = {"normal": None, "personal": "PRIVATE", "private": "PRIVATE", "confidential": "CONFIDENTIAL"}


@dataclass
class EventFields:
    """Parsed values of a create or of the properties a PATCH sent (``sent``)."""

    subject: str = ""
    body_type: str = "text"
    body: str = ""
    location: str | None = None
    attendees: list[dict] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    show_as: str = "busy"
    sensitivity: str = "normal"
    importance: str = "normal"
    start: datetime | None = None
    end: datetime | None = None
    time_zone: str = "UTC"
    all_day: bool = False
    recurrence: dict | None = None
    transaction_id: str | None = None
    sent: set[str] = field(default_factory=set)


def _new_change_key() -> str:
    return secrets.token_urlsafe(12)


def _check_times(start: datetime, end: datetime, *, all_day: bool = False, time_zone: str = "UTC") -> None:
    if end <= start:
        raise Invalid(fields={"end": _l("Das Ende muss nach dem Beginn liegen.")})
    if end - start > MAX_LENGTH:
        raise Invalid(fields={"end": _l("Ein Termin darf höchstens 14 Tage dauern.")})
    if all_day:
        zone = zone_named(time_zone) or site_timezone()
        for name, moment in (("start", start), ("end", end)):
            if moment.astimezone(zone).time() != time(0):
                raise Invalid(fields={name: _l("Ein ganztägiger Termin beginnt und endet um Mitternacht "
                                               "(nur ein Datum, z. B. 2026-12-10T00:00:00).")})


def _day_locks(owner: str, *spans: tuple[datetime, datetime]) -> list[locks.Lock]:
    zone = site_timezone()
    days = set()
    for start, end in spans:
        first = start.astimezone(zone).date()
        last = max(first, (end - timedelta(microseconds=1)).astimezone(zone).date())
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return [locks.person_day(owner, day) for day in sorted(days)]


def _push(event: GraphEvent) -> None:
    """Queue the event's desired state for the CalDAV server (caller's transaction)."""
    calendar.schedule_event(
        calendar_key=event.calendar_key, uid=event.uid, summary=event.subject, start=event.start_at,
        end=event.end_at, location=event.location, description=event.body or None,
        transparent=event.show_as in ("free", "workingElsewhere"), privacy=PRIVACY.get(event.sensitivity),
        categories=list(event.categories or []), status="CANCELLED" if event.is_cancelled else None,
        all_day=event.is_all_day, rrule=event.rrule)


def _series(recurrence: dict | None, start: datetime, time_zone: str) -> tuple[dict | None, str | None]:
    """Graph's recurrence (its range starting on the start's date) and its RRULE; (None, None) for none."""
    if not recurrence:
        return None, None
    zone = zone_named(time_zone) or site_timezone()
    limits = {**(recurrence.get("range") or {}), "startDate": start.astimezone(zone).date().isoformat()}
    recurrence = {**recurrence, "range": limits}
    return recurrence, to_rrule(recurrence, start, zone)


def _existing(calendar_key: str, transaction_id: str | None) -> GraphEvent | None:
    if not transaction_id:
        return None
    return db.session.scalar(select(GraphEvent).where(GraphEvent.calendar_key == calendar_key,
                                                      GraphEvent.transaction_id == transaction_id))


def create_event(owner: str, calendar_key: str, values: EventFields) -> tuple[GraphEvent, bool]:
    """Create the event (see the module's rules); returns it and whether it is new (``False``: the
    ``transactionId`` was seen before and the first event is returned unchanged)."""
    if values.start is None or values.end is None:
        raise Invalid(fields={"start" if values.start is None else "end": _l("Bitte geben Sie Beginn und Ende an.")})
    _check_times(values.start, values.end, all_day=values.all_day, time_zone=values.time_zone)
    if values.recurrence and (values.recurrence.get("range") or {}).get("startDate") not in (
            None, values.start.astimezone(zone_named(values.time_zone) or site_timezone()).date().isoformat()):
        raise Invalid(fields={"recurrence": _l("range.startDate muss das Datum des Beginns sein.")},
                      code="recurrence_not_supported")
    recurrence, rrule = _series(values.recurrence, values.start, values.time_zone)
    found = _existing(calendar_key, values.transaction_id)
    if found is not None:
        return found, False
    try:
        with write_transaction(*_day_locks(owner, (values.start, values.end))):
            found = _existing(calendar_key, values.transaction_id)
            if found is not None:
                return found, False
            now = utcnow()
            event = GraphEvent(
                calendar_key=calendar_key, owner=owner, uid=calendar.event_uid("graph", secrets.token_hex(12)),
                transaction_id=values.transaction_id, subject=values.subject, body_type=values.body_type,
                body=values.body, location=values.location, attendees=values.attendees,
                categories=values.categories, show_as=values.show_as, sensitivity=values.sensitivity,
                importance=values.importance, start_at=values.start, end_at=values.end,
                time_zone=values.time_zone, is_cancelled=False, is_all_day=values.all_day,
                recurrence=recurrence, rrule=rrule,
                change_key=_new_change_key(),
                created_at=now, updated_at=now)
            db.session.add(event)
            db.session.flush()
            _push(event)
            calendar.announce_bookings_changed([owner])
    except IntegrityError:  # the same transactionId committed by a parallel request
        db.session.rollback()
        found = _existing(calendar_key, values.transaction_id)
        if found is None:
            raise
        return found, False
    calendar.request_drain()
    return event, True


def get_event(calendar_key: str, uid: str) -> GraphEvent:
    event = db.session.scalar(select(GraphEvent).where(GraphEvent.calendar_key == calendar_key,
                                                       GraphEvent.uid == uid))
    if event is None:
        raise NotFound()
    return event


def _check_match(event: GraphEvent, if_match: str | None) -> None:
    if if_match is None:
        return
    wanted = [value.strip() for value in if_match.split(",")]
    current = {event.change_key, f'W/"{event.change_key}"', f'"{event.change_key}"', "*"}
    if not any(value in current for value in wanted):
        raise PreconditionFailed()


def update_event(owner: str, calendar_key: str, uid: str, values: EventFields, *,
                 if_match: str | None = None) -> GraphEvent:
    """Change the properties the client sent (see the module's rules)."""
    before = get_event(calendar_key, uid)
    start = values.start if "start" in values.sent else before.start_at
    end = values.end if "end" in values.sent else before.end_at
    if start is None or end is None:
        raise Invalid(fields={"start": _l("Bitte geben Sie Beginn und Ende an.")})
    all_day = values.all_day if "is_all_day" in values.sent else before.is_all_day
    time_zone = values.time_zone if "start" in values.sent else before.time_zone
    _check_times(start, end, all_day=all_day, time_zone=time_zone)
    recurrence, rrule = _series(before.recurrence, start, time_zone)
    with write_transaction(*_day_locks(owner, (before.start_at, before.end_at), (start, end))):
        event = get_event(calendar_key, uid)
        _check_match(event, if_match)
        if event.is_cancelled:
            raise Invalid(_l("Ein abgesagter Termin kann nicht mehr geändert werden."), code="cancelled")
        for name in ("subject", "body_type", "body", "location", "attendees", "categories", "show_as",
                     "sensitivity", "importance", "time_zone"):
            if name in values.sent or (name == "body_type" and "body" in values.sent) or (
                    name == "time_zone" and "start" in values.sent):
                setattr(event, name, getattr(values, name))
        event.start_at, event.end_at, event.is_all_day = start, end, all_day
        event.recurrence, event.rrule = recurrence, rrule
        _changed(owner, event)
    calendar.request_drain()
    return event


def _changed(owner: str, event: GraphEvent) -> None:
    """After a change (caller's transaction): a new changeKey, the server's copy queued, the slot cache told."""
    event.change_key = _new_change_key()
    event.updated_at = utcnow()
    _push(event)
    calendar.announce_bookings_changed([owner])


def cancel_event(owner: str, calendar_key: str, uid: str) -> GraphEvent:
    """Cancel: the event stays, ``isCancelled`` (STATUS:CANCELLED on the server), no longer busy."""
    before = get_event(calendar_key, uid)
    with write_transaction(*_day_locks(owner, (before.start_at, before.end_at))):
        event = get_event(calendar_key, uid)
        if not event.is_cancelled:
            event.is_cancelled = True
            _changed(owner, event)
    calendar.request_drain()
    return event


def delete_event(owner: str, calendar_key: str, uid: str, *, if_match: str | None = None) -> None:
    """Delete the event here and (through the outbox) on the CalDAV server."""
    before = get_event(calendar_key, uid)
    with write_transaction(*_day_locks(owner, (before.start_at, before.end_at))):
        event = get_event(calendar_key, uid)
        _check_match(event, if_match)
        calendar.schedule_event_removal(calendar_key=calendar_key, uid=uid)
        db.session.delete(event)
        calendar.announce_bookings_changed([owner])
    calendar.request_drain()
