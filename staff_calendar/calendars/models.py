"""Calendar links: where a staff member's or a room's CalDAV calendar lives.

Secrets never stand in the database or the site file, only the name of an environment variable
(``secret_env``) or of a file in ``instance/`` (``secret_file``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db


class CalendarLink(db.Model):
    """``key`` is ``staff:<staff key>`` or ``room:<room key>``. A ``url`` that only names the
    server base is resolved through principal discovery (``resolved_url``)."""

    __tablename__ = "calendar_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # "staff" | "room"
    owner_key: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    resolved_url: Mapped[str | None] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(200))
    secret_env: Mapped[str | None] = mapped_column(String(100))
    secret_file: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarSyncState(db.Model):
    """Per-calendar state of the busy-time mirror: the sync token (or none on servers without
    sync-collection: ``mode`` "etag"), the mirrored window, and the outcome of the last attempts.
    A failed sync only writes ``last_attempt_at``/``last_error``; the mirror stays as it was."""

    __tablename__ = "calendar_sync_states"

    calendar_key: Mapped[str] = mapped_column(
        String(100), ForeignKey("calendar_links.key", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="sync")  # "sync" | "etag"
    sync_token: Mapped[str | None] = mapped_column(String(500))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    reachable_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reachable: Mapped[bool | None] = mapped_column(Boolean)


class CalendarObject(db.Model):
    """One remote calendar object as last seen: ``href`` (URL path) → etag, UID and the part of its data
    the mirror may keep (``minimal.keep``: busy time, and subject/location/categories of events that are
    not private), so it can be re-expanded locally when the window moves. ``own`` marks events this
    platform wrote (no data kept). ``warning``: why its busy time is approximate or missing (a cap, an
    unreadable object), without any text of the event."""

    __tablename__ = "calendar_objects"
    __table_args__ = (UniqueConstraint("calendar_key", "href"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_key: Mapped[str] = mapped_column(
        String(100), ForeignKey("calendar_links.key", ondelete="CASCADE"), index=True
    )
    href: Mapped[str] = mapped_column(String(1000))
    etag: Mapped[str | None] = mapped_column(String(300))
    uid: Mapped[str | None] = mapped_column(String(500))
    own: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(String(300))


class BusyInterval(db.Model):
    """Mirrored busy time of a remote event occurrence, in UTC, within the mirror window."""

    __tablename__ = "calendar_busy_intervals"
    __table_args__ = (Index("ix_calendar_busy_intervals_key_start", "calendar_key", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_key: Mapped[str] = mapped_column(
        String(100), ForeignKey("calendar_links.key", ondelete="CASCADE")
    )
    href: Mapped[str] = mapped_column(String(1000))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxEntry(db.Model):
    """Desired state of one event this platform writes, and its delivery.

    One row per (calendar, UID): a new change overwrites the pending one (coalescing) and raises
    ``sequence`` and ``revision``. ``state`` is "pending" until the worker has delivered the current
    revision ("done"). ``etag`` and ``delivered_payload`` record what the server last got from us
    (for If-Match and for merging after a 412). No foreign key: a pending write survives a site
    reload that re-creates the link."""

    __tablename__ = "calendar_outbox"
    __table_args__ = (
        UniqueConstraint("calendar_key", "uid"),
        Index("ix_calendar_outbox_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_key: Mapped[str] = mapped_column(String(100))
    uid: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))  # "upsert" | "delete"
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # "pending" | "done"
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    href: Mapped[str | None] = mapped_column(String(1000))
    etag: Mapped[str | None] = mapped_column(String(300))
    delivered_payload: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))  # of the request behind the last change (logs only)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GraphEvent(db.Model):
    """An event a Graph client wrote into a staff member's calendar (``POST /users/{id}/events``).

    The database holds what the client sent (the CalDAV server gets it through the outbox, with
    ``uid``); ``change_key`` changes with every change (``If-Match``); ``transaction_id`` makes a
    repeated POST (the SDK retries) return the first event instead of a second one."""

    __tablename__ = "graph_events"
    __table_args__ = (UniqueConstraint("calendar_key", "transaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_key: Mapped[str] = mapped_column(String(100), index=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the staff member's key (= username)
    uid: Mapped[str] = mapped_column(String(500), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(255), default="")
    body_type: Mapped[str] = mapped_column(String(8), default="text")
    body: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str | None] = mapped_column(String(255))
    attendees: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    show_as: Mapped[str] = mapped_column(String(20), default="busy")
    sensitivity: Mapped[str] = mapped_column(String(20), default="normal")
    importance: Mapped[str] = mapped_column(String(10), default="normal")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    time_zone: Mapped[str] = mapped_column(String(100), default="UTC")
    is_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    # an all-day event: start and end are midnights in ``time_zone`` (CalDAV: DTSTART;VALUE=DATE)
    is_all_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # a series: its RRULE (``graph_recurrence``; start_at/end_at are the first occurrence) and Graph's
    # ``recurrence`` as the client sent it
    rrule: Mapped[str | None] = mapped_column(String(300))
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    change_key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GraphDeltaState(db.Model):
    """What a ``calendarView/delta`` round last returned (event id → changeKey), behind its ``$deltatoken``."""

    __tablename__ = "graph_delta_states"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox_id: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    seen: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
