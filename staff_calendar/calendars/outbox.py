"""The outbox: events this platform writes, queued in the caller's transaction, delivered by the worker.

Rules:
- one row per (calendar, UID) holds the desired state; a new change before delivery overwrites it
  (coalescing, no extra SEQUENCE step); SEQUENCE rises with every change after the server saw one;
- create: ``PUT <calendar>/<uid>.ics`` with ``If-None-Match: *``; a 412 means the event is already
  there (e.g. our earlier attempt succeeded but the answer was lost): re-read, merge, ``If-Match`` —
  never a second event;
- update: ``If-Match`` with the stored etag; 412 → re-read, keep the remote's other changes, apply
  the fields we changed since our last delivery, SEQUENCE = max(remote, ours) + 1, ``If-Match`` again;
- delete: ``DELETE`` with ``If-Match``; 404 counts as done; 412 → re-read etag, delete again;
- failures: exponential backoff (``BACKOFF_BASE_SECONDS`` · 2^(attempts-1), capped at
  ``BACKOFF_CAP_SECONDS``); rows are never dropped; rows waiting because their server was
  unreachable are retried at once when it is back (``recovery``); delivery happens outside any database transaction,
  rows are claimed with a lease so two drainers never send the same row at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import current_app
from sqlalchemy import func, or_, select, update

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import encode_id
from citizen_portal.core.i18n import site_timezone
from citizen_portal.core.logs import bound_request_id, current_request_id
from citizen_portal.core.webhooks.graph import notify_graph_change
from staff_calendar.calendars import ical, recovery
from staff_calendar.calendars.client import (
    CalendarUnavailable,
    Connection,
    connect,
    describe_error,
    is_unreachable,
    remember_resolved_url,
)
from staff_calendar.calendars.models import CalendarLink, OutboxEntry

log = logging.getLogger("staff_calendar.outbox")

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
CLAIM_SECONDS = 120.0
MAX_CONFLICT_ROUNDS = 4
PURGE_AFTER_DAYS = 30
ICS_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}


class DeliveryError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _payload(summary: str, start: datetime, end: datetime, location: str | None, description: str | None,
             transparent: bool, *, privacy: str | None = None, categories: list[str] | None = None,
             status: str | None = None, all_day: bool = False, rrule: str | None = None,
             room: dict | None = None) -> dict:
    """The desired state of an event; ``privacy`` (CLASS), ``categories``, ``status``, ``all_day``,
    ``rrule`` and ``room`` (``{"name", "address"}``: ATTENDEE;CUTYPE=ROOM) only when set, so the
    payload of callers that never set them stays as it was."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise ValueError("end must be after start")
    payload = {
        "summary": summary,
        "start": start.astimezone(UTC).isoformat(),
        "end": end.astimezone(UTC).isoformat(),
        "location": location or None,
        "description": description or None,
        "transparent": bool(transparent),
    }
    if privacy and privacy != "PUBLIC":
        payload["class"] = privacy
    if categories:
        payload["categories"] = list(categories)
    if room:
        payload["room"] = {"name": room.get("name"), "address": room["address"]}
    if status:
        payload["status"] = status
    if all_day:
        payload["all_day"] = True
    if rrule:
        payload["rrule"] = rrule
    return payload


def enqueue(calendar_key: str, uid: str, action: str, payload: dict | None = None) -> OutboxEntry:
    """Add or coalesce the row for (calendar, UID) in the caller's open transaction (flush, no commit);
    a real change is also a Graph change notification of the calendar (``core.webhooks.graph``)."""
    payload = payload or {}
    row = db.session.scalar(select(OutboxEntry).where(OutboxEntry.calendar_key == calendar_key,
                                                      OutboxEntry.uid == uid))
    now = datetime.now(UTC)
    change = "deleted" if action == "delete" else "created" if row is None or row.action == "delete" else "updated"
    if row is None:
        row = OutboxEntry(calendar_key=calendar_key, uid=uid, action=action, payload=payload, sequence=0,
                          revision=1, state="pending", attempts=0, next_attempt_at=now,
                          request_id=current_request_id())
        db.session.add(row)
    else:
        if row.action == action and row.payload == payload:
            return row  # nothing changed: no new SEQUENCE, no delivery
        # a new SEQUENCE only when the server has seen (or is just being sent) the current one
        in_flight = row.claimed_until is not None and row.claimed_until > now
        if row.state == "done" or in_flight:
            row.sequence = (row.sequence or 0) + 1
        row.action = action
        row.payload = payload
        row.revision = (row.revision or 0) + 1
        row.state = "pending"
        row.attempts = 0
        row.next_attempt_at = now
        row.last_error = None
        row.request_id = current_request_id()
    db.session.flush()
    notify_graph_change([f"calendar:{calendar_key}"], encode_id(uid), change)
    return row


@dataclass
class DrainResult:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed


def pending_count(calendar_key: str | None = None) -> int:
    query = select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
    if calendar_key:
        query = query.where(OutboxEntry.calendar_key == calendar_key)
    return db.session.scalar(query) or 0


def backoff_seconds(attempts: int) -> float:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


def drain(*, limit: int | None = None, ignore_backoff: bool = False, timeout: float | None = None) -> DrainResult:
    """Deliver due pending rows once. Never raises for remote failures (they are recorded per row).

    The first successful delivery to a server makes its rows that wait after an "unreachable"
    failure due now (``recovery``); they are delivered in the same call."""
    result = DrainResult()
    connections: dict[str, Connection | Exception] = {}
    servers_back: set[str] = set()
    servers: dict[str, str] | None = None
    while True:
        remaining = None if limit is None else limit - result.attempted - result.skipped
        due = _due_rows(remaining, ignore_backoff) if remaining is None or remaining > 0 else []
        released = 0
        for row_id, key, request_id in due:
            if key not in connections:
                connections[key] = _connect(key, timeout)
            with bound_request_id(request_id or current_request_id()):  # log under the request behind it
                outcome = _deliver_row(row_id, connections[key], result)
            if isinstance(outcome, Exception):  # the server is down: do not hammer it for every row
                connections[key] = outcome
            elif outcome == "delivered":
                servers = recovery.servers_of_calendars() if servers is None else servers
                server = servers.get(key)
                if server and server not in servers_back:
                    servers_back.add(server)
                    keys = recovery.calendars_on(server, servers)
                    for other in keys:  # an earlier failure of this server in this call is stale now
                        if isinstance(connections.get(other), Exception):
                            del connections[other]
                    released += recovery.retry_now(keys)
        if not released:
            return result


def _due_rows(limit: int | None, ignore_backoff: bool) -> list[tuple[int, str, str | None]]:
    now = datetime.now(UTC)
    query = (select(OutboxEntry.id, OutboxEntry.calendar_key, OutboxEntry.request_id)
             .where(OutboxEntry.state == "pending"))
    if not ignore_backoff:
        query = query.where(OutboxEntry.next_attempt_at <= now)
    query = query.where(or_(OutboxEntry.claimed_until.is_(None), OutboxEntry.claimed_until < now))
    query = query.order_by(OutboxEntry.id)
    if limit is not None:
        query = query.limit(limit)
    due = db.session.execute(query).all()
    db.session.commit()
    return [(row_id, key, request_id) for row_id, key, request_id in due]


def _deliver_row(row_id: int, connection: Connection | Exception, result: DrainResult) -> str | Exception:
    """Claim and deliver one row and record the outcome: "delivered", "skipped" (claimed elsewhere),
    "failed", or the failure itself when it means that the server is unreachable."""
    claimed = _claim(row_id)
    if claimed is None:
        result.skipped += 1
        return "skipped"
    try:
        if isinstance(connection, Exception):
            raise connection
        outcome = _deliver(connection, claimed)
    except Exception as exc:  # recorded on the row, retried with backoff
        unreachable = is_unreachable(exc)
        _record_failure(row_id, describe_error(exc), unreachable=unreachable)
        result.failed += 1
        return exc if unreachable else "failed"
    _record_success(row_id, claimed.revision, outcome)
    result.delivered += 1
    return "delivered"


def _connect(key: str, timeout: float | None) -> Connection | Exception:
    link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == key))
    try:
        if link is None or not link.active:
            raise CalendarUnavailable("no active calendar link")
        connection = connect(link, timeout)
        if connection.discovered:
            remember_resolved_url(key, connection.url)
        return connection
    except Exception as exc:
        return exc


@dataclass
class _Snapshot:
    id: int
    uid: str
    action: str
    payload: dict
    sequence: int
    revision: int
    etag: str | None
    href: str | None
    delivered_payload: dict | None


@dataclass
class _Outcome:
    etag: str | None
    href: str | None
    sequence: int
    delivered_payload: dict | None


def _claim(row_id: int) -> _Snapshot | None:
    now = datetime.now(UTC)
    with write_transaction(locks.calendar_outbox()):
        claimed = db.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == row_id, OutboxEntry.state == "pending",
                   or_(OutboxEntry.claimed_until.is_(None), OutboxEntry.claimed_until < now))
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        row = db.session.get(OutboxEntry, row_id, populate_existing=True)
        return _Snapshot(id=row.id, uid=row.uid, action=row.action, payload=dict(row.payload or {}),
                         sequence=row.sequence or 0, revision=row.revision, etag=row.etag, href=row.href,
                         delivered_payload=dict(row.delivered_payload) if row.delivered_payload else None)


def _record_failure(row_id: int, message: str, *, unreachable: bool = False) -> None:
    with write_transaction(locks.calendar_outbox()):
        row = db.session.get(OutboxEntry, row_id, populate_existing=True)
        if row is None:
            return
        row.attempts = (row.attempts or 0) + 1
        row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff_seconds(row.attempts))
        row.last_error = ((recovery.UNREACHABLE if unreachable else "") + message)[:480]
        row.claimed_until = None
    log.warning("outbox row %s: delivery failed (attempt %s): %s", row_id, row.attempts if row else "?", message)


def _record_success(row_id: int, revision: int, outcome: _Outcome) -> None:
    with write_transaction(locks.calendar_outbox()):
        row = db.session.get(OutboxEntry, row_id, populate_existing=True)
        if row is None:
            return
        row.etag = outcome.etag
        row.href = outcome.href
        row.delivered_payload = outcome.delivered_payload
        row.sequence = max(row.sequence or 0, outcome.sequence)
        row.claimed_until = None
        if row.revision == revision:  # nothing new was queued meanwhile
            row.state = "done"
            row.attempts = 0
            row.last_error = None
            row.delivered_at = datetime.now(UTC)


def object_url(connection: Connection, uid: str) -> str:
    return connection.url + quote(uid, safe="") + ".ics"


def _body(response) -> str:
    raw = getattr(response, "_raw", b"")
    return raw.decode() if isinstance(raw, bytes) else str(raw or "")


def _etag(response) -> str | None:
    return response.headers.get("ETag") or response.headers.get("etag")


def _get(connection: Connection, url: str) -> tuple[int, str | None, str]:
    response = connection.client.request(url, "GET", "", {"Accept": "text/calendar"})
    return response.status, _etag(response), _body(response)


def _deliver(connection: Connection, snap: _Snapshot) -> _Outcome:
    url = object_url(connection, snap.uid)
    if snap.action == "delete":
        return _deliver_delete(connection, snap, url)
    return _deliver_upsert(connection, snap, url)


def _deliver_upsert(connection: Connection, snap: _Snapshot, url: str) -> _Outcome:
    tz = site_timezone()
    marker = current_app.config["EVENT_UID_DOMAIN"]
    href = connection.calendar.url.join(url).path
    sequence = snap.sequence
    body = ical.event_ics(snap.payload, uid=snap.uid, sequence=sequence, tz=tz, own_marker=marker)
    headers = dict(ICS_HEADERS)
    headers.update({"If-Match": snap.etag} if snap.etag else {"If-None-Match": "*"})
    response = connection.client.put(url, body, headers)
    if response.status in (200, 201, 204):
        return _Outcome(etag=_etag(response) or _current_etag(connection, url), href=href, sequence=sequence,
                        delivered_payload=snap.payload)
    if response.status not in (404, 409, 412):
        raise DeliveryError(f"PUT answered HTTP {response.status}", response.status)
    # conflict: the event exists (create) or changed remotely (update), or vanished (update)
    for _round in range(MAX_CONFLICT_ROUNDS):
        status, etag, remote = _get(connection, url)
        if status == 404:
            headers = dict(ICS_HEADERS, **{"If-None-Match": "*"})
            body = ical.event_ics(snap.payload, uid=snap.uid, sequence=sequence, tz=tz, own_marker=marker)
        elif status == 200 and etag:
            body, sequence = ical.merge_event(remote, snap.payload, snap.delivered_payload, uid=snap.uid,
                                              our_sequence=snap.sequence, tz=tz, own_marker=marker)
            headers = dict(ICS_HEADERS, **{"If-Match": etag})
        else:
            raise DeliveryError(f"GET answered HTTP {status}", status)
        response = connection.client.put(url, body, headers)
        if response.status in (200, 201, 204):
            return _Outcome(etag=_etag(response) or _current_etag(connection, url), href=href, sequence=sequence,
                            delivered_payload=snap.payload)
        if response.status != 412:
            raise DeliveryError(f"PUT answered HTTP {response.status}", response.status)
    raise DeliveryError("conflict not resolved")


def _deliver_delete(connection: Connection, snap: _Snapshot, url: str) -> _Outcome:
    etag = snap.etag
    for _round in range(MAX_CONFLICT_ROUNDS):
        response = connection.client.delete(url, {"If-Match": etag} if etag else {})
        if response.status in (200, 204, 404):
            return _Outcome(etag=None, href=None, sequence=snap.sequence, delivered_payload=None)
        if response.status != 412:
            raise DeliveryError(f"DELETE answered HTTP {response.status}", response.status)
        status, etag, _ = _get(connection, url)
        if status == 404:
            return _Outcome(etag=None, href=None, sequence=snap.sequence, delivered_payload=None)
    raise DeliveryError("conflict not resolved")


def purge_delivered(*, older_than_days: int = PURGE_AFTER_DAYS) -> int:
    """Delete delivered rows untouched for ``older_than_days`` whose event is over (or removed).

    Safe even for a row still needed later: a new change then creates the row again, its create
    meets 412 and is merged onto the server's copy with SEQUENCE = remote + 1."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    candidates = db.session.scalars(select(OutboxEntry).where(OutboxEntry.state == "done",
                                                              OutboxEntry.updated_at < cutoff)).all()
    purged = 0
    for row in candidates:
        end = (row.payload or {}).get("end")
        if row.action == "delete" or not end or datetime.fromisoformat(end) < cutoff:
            db.session.delete(row)
            purged += 1
    db.session.flush()
    return purged


def _current_etag(connection: Connection, url: str) -> str | None:
    status, etag, _ = _get(connection, url)
    return etag if status == 200 else None
