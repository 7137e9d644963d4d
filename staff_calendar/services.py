"""Public facade of ``staff_calendar`` for the other packages (booking, spaces).

Busy time of a staff member = her mirrored calendar (``busy_seconds``, without the events this
platform wrote) + the bookings this package holds for her (``booked_seconds``: room bookings) +
whatever the caller holds itself (booking: appointments).

Everything another package needs from the calendar bridge goes through these functions; their
signatures are the contract. Implementations live in ``staff_calendar/calendars/``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import icalendar
from blinker import Namespace
from flask import current_app
from sqlalchemy import ColumnElement, literal, select

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from staff_calendar.calendars import busy_read, ical, live, outbox, worker
from staff_calendar.calendars.client import describe_error
from staff_calendar.spaces.services import person_busy

log = logging.getLogger("staff_calendar.services")


@dataclass(frozen=True)
class FreeCheck:
    """Result of a live check: ``source`` says who decided ("server" or "mirror")."""

    free: bool
    source: Literal["server", "mirror"]
    detail: str = ""


def calendar_key_for_staff(staff_key: str) -> str:
    return f"staff:{staff_key}"


def calendar_key_for_room(room_key: str) -> str:
    return f"room:{room_key}"


def event_uid(kind: str, ident: str | int) -> str:
    """Deterministic UID of an event this platform writes, e.g. ``appointment-42@<domain>``.
    The UID domain (``PORTAL_EVENT_UID_DOMAIN``) marks our own events in the mirror."""
    domain = current_app.config["EVENT_UID_DOMAIN"]
    kind = str(kind).strip()
    if not kind or "@" in kind or "@" in str(ident):
        raise ValueError("kind and ident must be non-empty and contain no '@'")
    return f"{kind}-{ident}@{domain}"


def busy_intervals(
    calendar_keys: Collection[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Mirrored busy time (aware UTC, sorted, overlapping [start, end)) per calendar key.

    One query for all keys; never a CalDAV request. Events written by this platform are left
    out (they are counted from the database), so nothing is counted twice."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    keys = sorted(set(calendar_keys))
    if not keys:
        return {}
    return busy_read.mirrored_busy(keys, start.astimezone(UTC), end.astimezone(UTC))


def busy_seconds(calendar_keys: Collection[str], start: datetime, end: datetime) -> dict[str, list[tuple[int, int]]]:
    """As ``busy_intervals`` but as (start, end) POSIX seconds (start rounded down, end up), for
    callers that compute in integers (the slot engine). One query; never a CalDAV request."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    keys = sorted(set(calendar_keys))
    if not keys:
        return {}
    return busy_read.mirrored_busy_seconds(keys, start.astimezone(UTC), end.astimezone(UTC))


def mirrored_until(calendar_keys: Collection[str]) -> dict[str, int]:
    """Per calendar key, the POSIX second up to which its busy time is mirrored (0: not at all).
    Beyond it the mirror knows nothing, so a caller must not treat the calendar as free there (the
    slot engine does not offer the calendar's owner). It moves with every successful sync (so
    ``busy_version`` covers it). One query; never a CalDAV request."""
    keys = sorted(set(calendar_keys))
    return busy_read.mirrored_until_seconds(keys) if keys else {}


def booked_seconds(usernames: Collection[str], start: datetime, end: datetime) -> dict[str, list[tuple[int, int]]]:
    """Busy time of people (by username; a staff member's key is her username) from the OPAQUE
    bookings this package holds for them, i.e. their room bookings, overlapping ``[start, end)`` as
    (start, end) POSIX seconds per username. Their calendar events are this platform's own and not in
    the mirror (``busy_seconds``): they count from here, as soon as the booking commits. A change is
    announced by ``staff_bookings_changed``. One query; never a CalDAV request."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if not usernames:
        return {}
    return person_busy.booked_seconds(usernames, start.astimezone(UTC), end.astimezone(UTC))


_signals = Namespace()
staff_bookings_changed = _signals.signal("staff-bookings-changed")
"""Sent (sender: the app; keyword ``usernames``) inside the writer's open transaction whenever
``booked_seconds`` of these people changes (a room booking made or cancelled). Receivers may only
write in that transaction, e.g. invalidate what they derived from ``booked_seconds`` (the slot cache)."""


def announce_bookings_changed(usernames: Collection[str]) -> None:
    """Call inside the transaction that changes a person's bookings (see ``staff_bookings_changed``)."""
    staff_bookings_changed.send(current_app._get_current_object(), usernames=tuple(sorted(set(usernames))))


def busy_version(calendar_keys: Collection[str]) -> str:
    """A short string that changes whenever the mirrored busy time of ``calendar_keys`` may have
    changed (every successful sync of one of them, a link removed or re-created); for validating
    caches of results computed from ``busy_intervals``/``busy_seconds``. One small query over the
    calendars' sync states (primary key), however much busy time they hold."""
    return db.session.execute(select(busy_version_expression(calendar_keys))).scalar_one()


def busy_version_expression(calendar_keys: Collection[str]) -> ColumnElement[str]:
    """``busy_version`` as a SQL expression, for callers that check it in the same statement as
    their own version (one round trip)."""
    keys = sorted(set(calendar_keys))
    if not keys:
        return literal("")
    return busy_read.mirror_version_expression(keys)


def is_free(calendar_key: str, start: datetime, end: datetime, *, timeout: float | None = None) -> FreeCheck:
    """Ask the CalDAV server about this one range (default timeout from config, 2 s); on any
    failure the mirror decides. Our own events are ignored here as well."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if timeout is None:
        timeout = float(current_app.config["CALDAV_LIVE_CHECK_TIMEOUT_SECONDS"])
    try:
        busy = live.server_busy(calendar_key, start, end, timeout=timeout)
    except Exception as exc:  # on any failure the mirror decides
        detail = describe_error(exc)
        mirrored = busy_intervals([calendar_key], start, end).get(calendar_key, [])
        return FreeCheck(free=not mirrored, source="mirror", detail=detail)
    return FreeCheck(free=not busy, source="server")


def schedule_event(
    *,
    calendar_key: str,
    uid: str,
    summary: str,
    start: datetime,
    end: datetime,
    location: str | None = None,
    description: str | None = None,
    transparent: bool = False,
    privacy: str | None = None,
    categories: list[str] | None = None,
    status: str | None = None,
    all_day: bool = False,
    rrule: str | None = None,
    room: dict | None = None,
) -> None:
    """Queue create-or-update of an event: an outbox row added to the caller's open transaction
    (no commit here). The worker PUTs it; SEQUENCE rises with every change. ``privacy`` is the
    iCalendar CLASS (PRIVATE, CONFIDENTIAL), ``status`` e.g. CANCELLED; ``all_day``: start and end are
    midnights (written as dates); ``rrule``: a series (``start``/``end`` its first occurrence);
    ``room`` the booked room (``{"name", "address"}``, written as ``ATTENDEE;CUTYPE=ROOM``)."""
    outbox.enqueue(calendar_key, uid, "upsert",
                   outbox._payload(summary, start, end, location, description, transparent, privacy=privacy,
                                   categories=categories, status=status, all_day=all_day,
                                   rrule=rrule, room=room))


def schedule_event_removal(*, calendar_key: str, uid: str) -> None:
    """Queue the removal of an event (outbox row in the caller's transaction)."""
    outbox.enqueue(calendar_key, uid, "delete", {})


def request_drain() -> None:
    """Call after commit: deliver pending outbox rows once, soon, in a background thread
    (no-op when ``PORTAL_OUTBOX_DRAIN_AFTER_COMMIT`` is off). Never raises."""
    try:
        worker.request_background_drain()
    except Exception:  # a side effect after commit must never break the caller
        log.exception("request_drain failed")


def itip_message(
    *,
    method: Literal["REQUEST", "CANCEL"],
    uid: str,
    sequence: int,
    summary: str,
    start: datetime,
    end: datetime,
    location: str | None,
    description: str | None,
    organizer_email: str,
    attendee_email: str,
    attendee_name: str | None = None,
    url: str | None = None,
    alarm_minutes: int | None = None,
) -> bytes:
    """An iTIP calendar for a mail attachment (METHOD, VTIMEZONE of the site zone, UID, SEQUENCE,
    DTSTAMP now, STATUS:CANCELLED for CANCEL; URL and a display VALARM when given). The attendee's
    answer is already given and no reply is asked for (``PARTSTAT`` set, ``RSVP=FALSE``): the organizer
    is the sending address, which may not read replies, so clients must not offer "Accept/Decline"."""
    tz = site_timezone()
    calendar = ical.new_calendar(method=method)
    payload = {"summary": summary, "start": start, "end": end, "location": location, "description": description}
    event = ical.build_event(payload, uid=uid, sequence=sequence, tz=tz,
                             status="CANCELLED" if method == "CANCEL" else "CONFIRMED")
    _add_link_and_alarm(event, url, alarm_minutes if method != "CANCEL" else None, summary)
    event.add("organizer", f"mailto:{organizer_email}")
    attendee_params = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED" if method == "REQUEST" else "DECLINED",
                       "RSVP": "FALSE"}
    if attendee_name:
        attendee_params["CN"] = attendee_name
    event.add("attendee", f"mailto:{attendee_email}", parameters=attendee_params)
    calendar.add_component(event)
    ical.add_timezones(calendar, [start, end])
    return calendar.to_ical()


def itip_spec(**fields: Any) -> dict:
    """``itip_message``'s arguments as JSON (start and end in ISO 8601): what the mail outbox keeps
    until its courier builds the attachment with ``itip_attachment``."""
    return {**fields, "start": fields["start"].isoformat(), "end": fields["end"].isoformat()}


def itip_attachment(spec: dict) -> bytes:
    """The mail outbox's attachment builder "itip": ``itip_message`` from an ``itip_spec``."""
    return itip_message(**{**spec, "start": datetime.fromisoformat(spec["start"]),
                           "end": datetime.fromisoformat(spec["end"])})


def _add_link_and_alarm(event: Any, url: str | None, alarm_minutes: int | None, summary: str) -> None:
    if url:
        event.add("url", url)
    if alarm_minutes:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(minutes=-alarm_minutes))
        event.add_component(alarm)


def citizen_event(*, uid: str, sequence: int, summary: str, start: datetime, end: datetime, location: str | None,
                  description: str | None, url: str | None, alarm_minutes: int | None = None) -> bytes:
    """A calendar file to download ("In den Kalender eintragen"): METHOD:PUBLISH, one VEVENT with the
    same UID as the mail's invitation (so clients update rather than duplicate), DESCRIPTION, URL, an
    optional display VALARM, VTIMEZONE of the site zone; no ORGANIZER/ATTENDEE (nothing to answer)."""
    tz = site_timezone()
    calendar = ical.new_calendar(method="PUBLISH")
    payload = {"summary": summary, "start": start, "end": end, "location": location, "description": description}
    event = ical.build_event(payload, uid=uid, sequence=sequence, tz=tz, status="CONFIRMED")
    _add_link_and_alarm(event, url, alarm_minutes, summary)
    calendar.add_component(event)
    ical.add_timezones(calendar, [start, end])
    return calendar.to_ical()


FEED_REFRESH = timedelta(hours=1)


def personal_feed(events: list[dict], *, name: str) -> bytes:
    """A VCALENDAR (no METHOD) for a subscription feed; ``events`` are dicts with keys
    uid, summary, start, end, location, description, transparent, sequence and optionally stamp
    (DTSTAMP/LAST-MODIFIED: the feed is byte-identical until a booking changes) and room.

    Rules: the calendar is named (``NAME``, RFC 7986, and ``X-WR-CALNAME`` for Outlook and Apple);
    clients are told to refresh hourly (``REFRESH-INTERVAL``, ``X-PUBLISHED-TTL``)."""
    tz = site_timezone()
    calendar = ical.new_calendar()
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", FEED_REFRESH)
    moments: list[datetime] = []
    for item in events:
        event = ical.build_event(item, uid=item["uid"], sequence=int(item.get("sequence") or 0), tz=tz)
        calendar.add_component(event)
        moments += [item["start"], item["end"]]
    ical.add_timezones(calendar, moments)
    return calendar.to_ical()
