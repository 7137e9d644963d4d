"""The busy-time mirror: incremental CalDAV sync into ``calendar_busy_intervals`` (UTC).

Rules:
- the network part (sync-collection with the stored token, full listing on an expired token, etag
  comparison on servers without sync-collection, multiget) is ``fetch``; any remote failure (down,
  401, garbage) records ``last_error`` and leaves the mirror exactly as it was;
- every network call and all reading of objects (parsing and expansion, ``reading.read_object``,
  capped per object) happen before the write transaction, which only writes precomputed rows; it
  first re-checks that no other sync of the calendar committed since this one read its state
  (otherwise this sync starts over; a second time it leaves the newer state as it is);
- the window runs from local midnight yesterday to the end of the day after the furthest bookable day
  (``mirror_horizon_days``: every registered booking horizon, at least ``CALDAV_MIRROR_HORIZON_DAYS``);
  when its start or end moves, all stored objects are read again for the new window (no network);
  its end, stored per calendar, is how far the slot engine may trust the mirror (``mirrored_until``);
- of an object only what ``minimal.keep`` allows is stored (busy time; subject, location and
  categories of events that are not private); a cap or an unreadable object is stored as the
  object's ``warning`` (no text of the event), shown by ``flask staff-calendar status`` and ``/healthz``;
- our own events (UID domain / X-MUNICIPAL-PORTAL) are stored as objects without data, never as busy time;
- a successful sync means the calendar's server is reachable: outbox rows waiting for it are made
  due at once (``recovery.server_is_back``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import delete, func, insert, select, update

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.horizons import booking_horizon_days
from citizen_portal.core.i18n import site_timezone
from staff_calendar.calendars import reading, recovery
from staff_calendar.calendars.client import connect, describe_error
from staff_calendar.calendars.fetch import Fetched, SyncResult, fetch
from staff_calendar.calendars.models import BusyInterval, CalendarLink, CalendarObject, CalendarSyncState
from staff_calendar.calendars.webhook_events import emit_sync_failed

log = logging.getLogger("staff_calendar.mirror")

SYNC_ATTEMPTS = 2
DELETE_CHUNK = 500


class Window(NamedTuple):
    start: datetime
    end: datetime


def mirror_horizon_days() -> int:
    """How many days ahead the mirror holds busy time: the furthest any registered booking kind can
    be booked (``citizen_portal.core.horizons.booking_horizon_days``: the services' ``horizon_days``, the room
    booking horizon), at least ``CALDAV_MIRROR_HORIZON_DAYS``."""
    configured = int(current_app.config["CALDAV_MIRROR_HORIZON_DAYS"])
    return max(configured, booking_horizon_days(current_app._get_current_object()))


def mirror_window(now: datetime | None = None) -> Window:
    """[local midnight yesterday, local midnight after the day ``today + horizon + 1``) in UTC: the
    last bookable day is covered, and still after the next midnight until the next sync."""
    tz = site_timezone()
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=mirror_horizon_days() + 2), datetime.min.time(), tzinfo=tz)
    return Window(start.astimezone(UTC), end.astimezone(UTC))


class _Superseded(Exception):
    """Another sync of the calendar committed after this one read its state."""


@dataclass
class _Snapshot:
    """What a sync reads before it goes to the network; the write re-checks ``version``."""

    link: CalendarLink  # a transient copy: usable without the session
    mode: str
    sync_token: str | None
    version: tuple
    window: Window
    rebuild: bool  # the window moved: every stored object is read again
    known: dict[str, str | None]  # href -> etag
    stored: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # href -> (data, warning), rebuild only


@dataclass
class _Plan:
    """The rows one sync writes, computed before its write transaction."""

    gone: set[str]
    objects: list[dict] = field(default_factory=list)
    intervals: list[dict] = field(default_factory=list)
    rewarned: dict[str, str | None] = field(default_factory=dict)  # href -> new warning of a stored object


def _version(state: CalendarSyncState | None) -> tuple:
    if state is None:
        return ()
    return state.mode, state.sync_token, state.window_start, state.window_end, state.last_success_at


def _copy_link(link: CalendarLink) -> CalendarLink:
    return CalendarLink(key=link.key, owner_kind=link.owner_kind, owner_key=link.owner_key, url=link.url,
                        resolved_url=link.resolved_url, username=link.username, secret_env=link.secret_env,
                        secret_file=link.secret_file, active=link.active)


def _snapshot(key: str, now: datetime | None) -> _Snapshot | None:
    link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == key))
    if link is None:
        db.session.commit()
        return None
    state = db.session.get(CalendarSyncState, key)
    window = mirror_window(now)
    rebuild = state is None or (state.window_start, state.window_end) != tuple(window)
    known = dict(db.session.execute(
        select(CalendarObject.href, CalendarObject.etag).where(CalendarObject.calendar_key == key)).all())
    stored = {}
    if rebuild:
        stored = {href: (data, warning) for href, data, warning in db.session.execute(
            select(CalendarObject.href, CalendarObject.data, CalendarObject.warning).where(
                CalendarObject.calendar_key == key, CalendarObject.own.is_(False), CalendarObject.data.is_not(None)))}
    snapshot = _Snapshot(link=_copy_link(link), mode=(state.mode if state else None) or "sync",
                         sync_token=state.sync_token if state else None, version=_version(state), window=window,
                         rebuild=rebuild, known=known, stored=stored)
    db.session.commit()  # end the read transaction: none is open during network calls and reading
    return snapshot


def _read_all(key: str, snapshot: _Snapshot, fetched: Fetched, result: SyncResult) -> _Plan:
    """Read every changed object (and, when the window moved, every stored one) into rows."""
    tz, domain, limits = site_timezone(), current_app.config["EVENT_UID_DOMAIN"], reading.Limits.from_config()
    start, end = snapshot.window
    plan = _Plan(gone=fetched.deleted | set(fetched.changed))

    def read(data: str, store: bool = True) -> reading.ReadObject:
        return reading.read_object(data, start, end, tz=tz, own_domain=domain, limits=limits, store=store)

    def add_intervals(href: str, intervals: list) -> None:
        plan.intervals.extend({"calendar_key": key, "href": href, "start": s, "end": e} for s, e in intervals)

    for href, (data, warning) in snapshot.stored.items():
        if href not in plan.gone:
            again = read(data, store=False)  # stored data is kept already
            add_intervals(href, again.intervals)
            if again.warning != warning:
                plan.rewarned[href] = again.warning
    for href, (etag, data) in fetched.changed.items():
        new = read(data)
        plan.objects.append({"calendar_key": key, "href": href, "etag": etag, "uid": new.uid and new.uid[:500],
                             "own": new.own, "data": new.stored, "warning": new.warning})
        add_intervals(href, new.intervals)
        result.warnings += new.warning is not None
        result.unreadable += bool(new.warning and new.warning.startswith("unreadable"))
    return plan


def _write(key: str, snapshot: _Snapshot, fetched: Fetched, plan: _Plan, resolved_url: str | None) -> None:
    """The write transaction: re-check, then only precomputed rows."""
    with write_transaction(locks.calendar_mirror(key)):
        state = db.session.get(CalendarSyncState, key)
        link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == key))
        if link is None or _version(state) != snapshot.version:
            raise _Superseded
        if resolved_url and link.resolved_url != resolved_url:
            link.resolved_url = resolved_url
        gone = sorted(plan.gone)
        for i in range(0, len(gone), DELETE_CHUNK):
            part = gone[i:i + DELETE_CHUNK]
            db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_key == key,
                                                          BusyInterval.href.in_(part)))
            db.session.execute(delete(CalendarObject).where(CalendarObject.calendar_key == key,
                                                            CalendarObject.href.in_(part)))
        if snapshot.rebuild:
            db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_key == key))
        if plan.objects:
            db.session.execute(insert(CalendarObject), plan.objects)
        if plan.intervals:
            db.session.execute(insert(BusyInterval), plan.intervals)
        for warning in set(plan.rewarned.values()):
            hrefs = [href for href, value in plan.rewarned.items() if value == warning]
            db.session.execute(update(CalendarObject).where(CalendarObject.calendar_key == key,
                                                            CalendarObject.href.in_(hrefs)).values(warning=warning))
        now = datetime.now(UTC)
        if state is None:
            state = CalendarSyncState(calendar_key=key)
            db.session.add(state)
        state.mode = fetched.mode
        state.sync_token = fetched.token
        state.window_start, state.window_end = snapshot.window
        state.last_attempt_at = state.last_success_at = now
        state.last_error = None
        state.reachable, state.reachable_checked_at = True, now


def record_failure(key: str, message: str) -> None:
    """Record a failed sync; the first failure after a success (or ever) emits ``calendar.sync_failed``."""
    with write_transaction(locks.calendar_mirror(key)):
        state = db.session.get(CalendarSyncState, key)
        if state is None:
            state = CalendarSyncState(calendar_key=key, mode="sync")
            db.session.add(state)
        if state.last_error is None:
            emit_sync_failed(key)
        state.last_attempt_at = datetime.now(UTC)
        state.last_error = message[:480]
        state.reachable = False
        state.reachable_checked_at = state.last_attempt_at


def _sync_once(key: str, full: bool, timeout: float | None, now: datetime | None, result: SyncResult) -> None:
    snapshot = _snapshot(key, now)
    if snapshot is None:
        result.error = "no calendar link"
        return
    try:
        connection = connect(snapshot.link, timeout)
        resolved_url = connection.url if connection.discovered else None
        fetch_started = time.perf_counter()
        fetched = fetch(connection.calendar, snapshot.mode, snapshot.sync_token, snapshot.known, full, result)
        result.fetch_seconds = time.perf_counter() - fetch_started
    except Exception as exc:  # every remote failure leaves the mirror untouched
        result.error = describe_error(exc)
        log.warning("calendar %s: sync failed: %s", key, result.error)
        record_failure(key, result.error)
        return
    read_started = time.perf_counter()
    plan = _read_all(key, snapshot, fetched, result)
    write_started = time.perf_counter()
    result.read_seconds = write_started - read_started
    _write(key, snapshot, fetched, plan, resolved_url)
    result.write_seconds = time.perf_counter() - write_started
    result.changed = len(fetched.changed)
    result.deleted = len(fetched.deleted & set(snapshot.known))
    result.ok = True
    result.released = recovery.server_is_back(key)


def sync_calendar(key: str, *, full: bool = False, timeout: float | None = None,
                  now: datetime | None = None) -> SyncResult:
    """Bring the mirror of one calendar up to date. Never raises for remote failures: they are
    recorded in ``calendar_sync_states.last_error`` and returned in ``SyncResult.error``.
    ``now`` moves the mirror window (tests, benchmarks)."""
    started = time.perf_counter()
    for _attempt in range(SYNC_ATTEMPTS):
        result = SyncResult(calendar_key=key)
        try:
            _sync_once(key, full, timeout, now, result)
        except _Superseded:
            continue
        break
    else:  # two other syncs committed meanwhile: the mirror is as fresh as theirs
        result.ok = result.superseded = True
    result.seconds = time.perf_counter() - started
    return result


def sync_all(*, full: bool = False) -> list[SyncResult]:
    keys = db.session.scalars(select(CalendarLink.key).where(CalendarLink.active.is_(True))
                              .order_by(CalendarLink.key)).all()
    db.session.commit()
    return [sync_calendar(key, full=full) for key in keys]


def object_count(key: str) -> int:
    return db.session.scalar(select(func.count()).select_from(CalendarObject)
                             .where(CalendarObject.calendar_key == key)) or 0
