"""Public facade of ``staff_calendar`` for the other packages (booking, spaces).

Everything another package needs from the calendar bridge goes through these functions; their
signatures are the contract. Implementations live in ``staff_calendar/calendars/``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


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
    raise NotImplementedError


def busy_intervals(
    calendar_keys: Collection[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Mirrored busy time (aware UTC, sorted, overlapping [start, end)) per calendar key.

    One query for all keys; never a CalDAV request. Events written by this platform are left
    out (they are counted from the database), so nothing is counted twice."""
    raise NotImplementedError


def is_free(calendar_key: str, start: datetime, end: datetime, *, timeout: float | None = None) -> FreeCheck:
    """Ask the CalDAV server about this one range (default timeout from config, 2 s); on any
    failure the mirror decides. Our own events are ignored here as well."""
    raise NotImplementedError


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
) -> None:
    """Queue create-or-update of an event: an outbox row added to the caller's open transaction
    (no commit here). The worker PUTs it; SEQUENCE rises with every change."""
    raise NotImplementedError


def schedule_event_removal(*, calendar_key: str, uid: str) -> None:
    """Queue the removal of an event (outbox row in the caller's transaction)."""
    raise NotImplementedError


def request_drain() -> None:
    """Call after commit: deliver pending outbox rows once, soon, in a background thread
    (no-op when ``PORTAL_OUTBOX_DRAIN_AFTER_COMMIT`` is off). Never raises."""
    raise NotImplementedError


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
) -> bytes:
    """An iTIP calendar for a mail attachment (METHOD, VTIMEZONE of the site zone, UID, SEQUENCE,
    DTSTAMP now, STATUS:CANCELLED for CANCEL)."""
    raise NotImplementedError


def personal_feed(events: list[dict]) -> bytes:
    """A VCALENDAR (no METHOD) for a subscription feed; ``events`` are dicts with keys
    uid, summary, start, end, location, description, transparent, sequence."""
    raise NotImplementedError
