"""The busy-time mirror: incremental CalDAV sync into ``calendar_busy_intervals`` (UTC).

Rules:
- sync-collection with the stored token (``disable_fallback=True``, so caldav never silently lists
  everything); the changed objects are fetched with one calendar-multiget (chunks of ``MULTIGET_CHUNK``);
- an expired/unknown token (``DAV:valid-sync-token``: 403 on Radicale, 412 on Xandikos) → full resync,
  comparing etags so unchanged objects are not fetched again;
- a server without sync-collection → ``mode = "etag"``: a depth-1 PROPFIND of etags, diffed with the
  stored map;
- every network call happens before the database transaction; any failure (down, 401, garbage) rolls
  back, records ``last_error`` and leaves the mirror exactly as it was;
- the window runs from local midnight yesterday to the end of the day after the furthest bookable day
  (``mirror_horizon_days``: every registered booking horizon, at least ``CALDAV_MIRROR_HORIZON_DAYS``);
  when its start or end moves, all stored objects are re-expanded locally (no network); its end,
  stored per calendar, is how far the slot engine may trust the mirror (``mirrored_until``);
- our own events (UID domain / X-MUNICIPAL-PORTAL) are stored as objects but never as busy time;
- a successful sync means the calendar's server is reachable: outbox rows waiting for it are made
  due at once (``recovery.server_is_back``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from caldav.elements import dav
from caldav.lib import error as caldav_error
from flask import current_app
from sqlalchemy import BigInteger, Float, String, case, cast, delete, func, literal, select

from citizen_portal.core.database import UTCDateTime, write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.horizons import booking_horizon_days
from citizen_portal.core.i18n import site_timezone
from staff_calendar.calendars import ical, recovery
from staff_calendar.calendars.client import CalendarUnavailable, connect, describe_error, href_of
from staff_calendar.calendars.models import BusyInterval, CalendarLink, CalendarObject, CalendarSyncState

log = logging.getLogger("staff_calendar.mirror")

MULTIGET_CHUNK = 1000
FULL_SYNC_TIMEOUT_FACTOR = 6
VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"


@dataclass
class SyncResult:
    calendar_key: str
    ok: bool = False
    mode: str = ""  # "full" | "incremental" | "etag"
    used_token: bool = False
    token_expired: bool = False
    multigets: int = 0
    changed: int = 0
    deleted: int = 0
    unreadable: int = 0
    error: str | None = None
    released: int = 0  # outbox rows that became due because this calendar's server is back
    seconds: float = 0.0
    fetch_seconds: float = 0.0  # the part spent talking to the server


@dataclass
class _Fetched:
    mode: str
    token: str | None
    changed: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # href -> (etag, data)
    deleted: set[str] = field(default_factory=set)
    new_mode: str = "sync"


def mirror_horizon_days() -> int:
    """How many days ahead the mirror holds busy time: the furthest any registered booking kind can
    be booked (``citizen_portal.core.horizons.booking_horizon_days``: the services' ``horizon_days``, the room
    booking horizon), at least ``CALDAV_MIRROR_HORIZON_DAYS``."""
    configured = int(current_app.config["CALDAV_MIRROR_HORIZON_DAYS"])
    return max(configured, booking_horizon_days(current_app._get_current_object()))


def mirror_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[local midnight yesterday, local midnight after the day ``today + horizon + 1``) in UTC: the
    last bookable day is covered, and still after the next midnight until the next sync."""
    tz = site_timezone()
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=mirror_horizon_days() + 2), datetime.min.time(), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _is_expired_token(exc: Exception) -> bool:
    return VALID_SYNC_TOKEN in (getattr(exc, "preconditions", None) or [])


def _is_auth_failure(exc: Exception) -> bool:
    return isinstance(exc, caldav_error.AuthorizationError) and not _is_expired_token(exc)


def _listing(collection) -> tuple[dict[str, str | None], set[str]]:
    listed: dict[str, str | None] = {}
    for obj in collection:
        props = getattr(obj, "props", None) or {}
        listed[href_of(obj.url)] = props.get(dav.GetEtag.tag)
    deleted = {href_of(url) for url in (collection.deleted_urls or ())}
    for href in deleted:
        listed.pop(href, None)
    return listed, deleted


def _etag_listing(calendar) -> dict[str, str | None]:
    response = calendar._query_properties([dav.GetEtag()], depth=1)
    if response.status != 207:  # e.g. a login page answered 200: never read that as "no objects"
        raise CalendarUnavailable(f"PROPFIND answered HTTP {response.status}")
    props = response.expand_simple_props([dav.GetEtag()])
    own_path = href_of(calendar.url).rstrip("/")
    return {href_of(h): p.get(dav.GetEtag.tag) for h, p in props.items() if href_of(h).rstrip("/") != own_path}


def _multiget(calendar, hrefs: list[str], result: SyncResult) -> dict[str, tuple[str | None, str]]:
    fetched: dict[str, tuple[str | None, str]] = {}
    for i in range(0, len(hrefs), MULTIGET_CHUNK):
        chunk = hrefs[i:i + MULTIGET_CHUNK]
        result.multigets += 1
        for obj in calendar.multiget([calendar.url.join(h) for h in chunk]):
            props = getattr(obj, "props", None) or {}
            data = obj.data
            if isinstance(data, bytes):
                data = data.decode()
            fetched[href_of(obj.url)] = (props.get(dav.GetEtag.tag), data)
    return fetched


def _allow_slow_answers(calendar) -> None:
    """A full listing of a big calendar may take a cold server longer than one normal request
    (Radicale: > 10 s for 2,000 objects on first touch): allow ``FULL_SYNC_TIMEOUT_FACTOR`` times more."""
    client = calendar.client
    if client.timeout:
        client.timeout = client.timeout * FULL_SYNC_TIMEOUT_FACTOR


def _fetch(calendar, state: CalendarSyncState, known: dict[str, str | None], full: bool,
           result: SyncResult) -> _Fetched:
    """All network work of one sync; raises on any failure."""
    mode = state.mode or "sync"
    if full or not state.sync_token or mode == "etag":
        _allow_slow_answers(calendar)
    if mode == "sync":
        token = None if full else state.sync_token
        try:
            collection = calendar.get_objects_by_sync_token(token, load_objects=False, disable_fallback=True)
        except caldav_error.DAVError as exc:
            if _is_expired_token(exc) and token is not None:
                result.token_expired = True
                _allow_slow_answers(calendar)
                token = None
                collection = calendar.get_objects_by_sync_token(None, load_objects=False, disable_fallback=True)
            elif token is None and not _is_auth_failure(exc) and isinstance(exc, caldav_error.ReportError):
                log.info("calendar %s: no sync-collection support, using etag comparison", result.calendar_key)
                mode = "etag"
                collection = None
            else:
                raise
        if collection is not None:
            listed, deleted = _listing(collection)
            new_token = collection.sync_token
            if not new_token or str(new_token).startswith("fake-"):
                raise CalendarUnavailable("server returned no sync token")
            result.used_token = token is not None
            if token is None:  # full listing: whatever we know and is not listed is gone
                deleted = set(known) - set(listed)
                result.mode = "full"
            else:
                result.mode = "incremental"
            wanted = [h for h, etag in listed.items() if full or etag is None or known.get(h, "\0") != etag]
            fetched = _Fetched(mode="sync", token=str(new_token), deleted=set(deleted))
            if wanted:
                fetched.changed = _multiget(calendar, wanted, result)
                fetched.deleted |= set(wanted) - set(fetched.changed)  # vanished in between
            return fetched
    # etag comparison
    listed = _etag_listing(calendar)
    result.mode = "etag"
    wanted = [h for h, etag in listed.items() if full or etag is None or known.get(h, "\0") != etag]
    fetched = _Fetched(mode="etag", token=None, deleted=set(known) - set(listed))
    if wanted:
        fetched.changed = _multiget(calendar, wanted, result)
        fetched.deleted |= set(wanted) - set(fetched.changed)
    return fetched


def _state(key: str) -> CalendarSyncState:
    state = db.session.get(CalendarSyncState, key)
    if state is None:
        state = CalendarSyncState(calendar_key=key, mode="sync")
        db.session.add(state)
    return state


def record_failure(key: str, message: str) -> None:
    with write_transaction(f"calendar-mirror:{key}"):
        state = _state(key)
        state.last_attempt_at = datetime.now(UTC)
        state.last_error = message[:480]
        state.reachable = False
        state.reachable_checked_at = state.last_attempt_at


def _insert_intervals(key: str, href: str, intervals: list[tuple[datetime, datetime]]) -> None:
    if intervals:
        db.session.add_all([BusyInterval(calendar_key=key, href=href, start=s, end=e) for s, e in intervals])


def sync_calendar(key: str, *, full: bool = False, timeout: float | None = None,
                  now: datetime | None = None) -> SyncResult:
    """Bring the mirror of one calendar up to date. Never raises for remote failures: they are
    recorded in ``calendar_sync_states.last_error`` and returned in ``SyncResult.error``.
    ``now`` moves the mirror window (tests, benchmarks)."""
    started = time.perf_counter()
    result = SyncResult(calendar_key=key)
    link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == key))
    if link is None:
        result.error = "no calendar link"
        return result
    state = db.session.get(CalendarSyncState, key) or CalendarSyncState(calendar_key=key, mode="sync")
    state_snapshot = CalendarSyncState(calendar_key=key, mode=state.mode or "sync", sync_token=state.sync_token)
    known = dict(db.session.execute(
        select(CalendarObject.href, CalendarObject.etag).where(CalendarObject.calendar_key == key)
    ).all())
    window_start, window_end = mirror_window(now)
    db.session.commit()  # end the read transaction: no database transaction is open during network calls
    try:
        connection = connect(link, timeout)
        resolved_url = connection.url if connection.discovered else None
        fetch_started = time.perf_counter()
        fetched = _fetch(connection.calendar, state_snapshot, known, full, result)
        result.fetch_seconds = time.perf_counter() - fetch_started
    except Exception as exc:  # every remote failure leaves the mirror untouched
        result.error = describe_error(exc)
        log.warning("calendar %s: sync failed: %s", key, result.error)
        record_failure(key, result.error)
        result.seconds = time.perf_counter() - started
        return result

    tz = site_timezone()
    domain = current_app.config["EVENT_UID_DOMAIN"]
    with write_transaction(f"calendar-mirror:{key}"):
        state = _state(key)
        link = db.session.scalar(select(CalendarLink).where(CalendarLink.key == key))
        if link is not None and resolved_url and link.resolved_url != resolved_url:
            link.resolved_url = resolved_url
        # a new start (the next day) or a new end (a service with a longer horizon): re-expand
        window_moved = (state.window_start, state.window_end) != (window_start, window_end)
        gone = fetched.deleted | set(fetched.changed)
        if gone:
            hrefs = list(gone)
            for i in range(0, len(hrefs), 500):
                part = hrefs[i:i + 500]
                db.session.execute(delete(BusyInterval).where(
                    BusyInterval.calendar_key == key, BusyInterval.href.in_(part)))
                db.session.execute(delete(CalendarObject).where(
                    CalendarObject.calendar_key == key, CalendarObject.href.in_(part)))
        if window_moved:
            # re-expand every stored object for the new window, locally
            db.session.execute(delete(BusyInterval).where(BusyInterval.calendar_key == key))
            for obj in db.session.scalars(select(CalendarObject).where(
                    CalendarObject.calendar_key == key, CalendarObject.own.is_(False))):
                try:
                    parsed = ical.parse_object(obj.data or "", window_start, window_end, tz=tz, own_domain=domain)
                except Exception:  # counted, never fatal
                    result.unreadable += 1
                    continue
                _insert_intervals(key, obj.href, parsed.intervals)
        for href, (etag, data) in fetched.changed.items():
            try:
                parsed = ical.parse_object(data, window_start, window_end, tz=tz, own_domain=domain)
            except Exception:  # one unreadable object does not block the calendar
                result.unreadable += 1
                parsed = ical.ParsedObject(uid=None, own=False, intervals=[])
            db.session.add(CalendarObject(calendar_key=key, href=href, etag=etag, uid=parsed.uid,
                                          own=parsed.own, data=data))
            _insert_intervals(key, href, parsed.intervals)
        now = datetime.now(UTC)
        state.mode = fetched.mode
        state.sync_token = fetched.token
        state.window_start, state.window_end = window_start, window_end
        state.last_attempt_at = state.last_success_at = now
        state.last_error = None
        state.last_warning = f"{result.unreadable} unreadable objects" if result.unreadable else None
        state.reachable, state.reachable_checked_at = True, now
    result.changed = len(fetched.changed)
    result.deleted = len(fetched.deleted & set(known))
    result.ok = True
    result.released = recovery.server_is_back(key)
    result.seconds = time.perf_counter() - started
    return result


def sync_all(*, full: bool = False) -> list[SyncResult]:
    keys = db.session.scalars(select(CalendarLink.key).where(CalendarLink.active.is_(True))
                              .order_by(CalendarLink.key)).all()
    db.session.commit()
    return [sync_calendar(key, full=full) for key in keys]


def _epoch_columns():
    """(start, end) of ``calendar_busy_intervals`` as POSIX seconds (floor of start, ceiling of end,
    so rounding never makes busy time shorter), computed by the database: no datetime objects."""
    if db.session.get_bind().dialect.name == "postgresql":
        return (func.floor(func.extract("epoch", BusyInterval.start)).cast(BigInteger),
                func.ceil(func.extract("epoch", BusyInterval.end)).cast(BigInteger))
    # SQLite stores naive UTC text; %s is whole seconds, %f "SS.SSS" (fractions below 1 ms cannot occur
    # from iCalendar, which has whole seconds)
    frac = func.strftime("%f", BusyInterval.end)
    return (cast(func.strftime("%s", BusyInterval.start), BigInteger),
            cast(func.strftime("%s", BusyInterval.end), BigInteger)
            + case((cast(frac, Float) > cast(cast(frac, BigInteger), Float), 1), else_=0))


def mirrored_busy_seconds(keys: list[str], start: datetime, end: datetime) -> dict[str, list[tuple[int, int]]]:
    """Merged busy intervals per key as (start, end) POSIX seconds overlapping [start, end): one lean
    Core query over the (calendar_key, start) index, sorted by the database."""
    start_s, end_s = _epoch_columns()
    rows = db.session.execute(
        select(BusyInterval.calendar_key, start_s, end_s)
        .where(BusyInterval.calendar_key.in_(keys), BusyInterval.start < end, BusyInterval.end > start)
        .order_by(BusyInterval.calendar_key, BusyInterval.start)
    ).all()
    grouped: dict[str, list[tuple[int, int]]] = {key: [] for key in keys}
    last_key, merged = None, None
    for key, s, e in rows:
        if key != last_key:
            last_key, merged = key, grouped[key]
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return grouped


def mirrored_busy(keys: list[str], start: datetime, end: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """As ``mirrored_busy_seconds`` with aware UTC datetimes."""
    convert = datetime.fromtimestamp
    return {key: [(convert(s, UTC), convert(e, UTC)) for s, e in intervals]
            for key, intervals in mirrored_busy_seconds(keys, start, end).items()}


def mirrored_until_seconds(keys: list[str]) -> dict[str, int]:
    """Per key, the POSIX second up to which the mirror holds its busy time: the window end of its
    last successful sync (0 when it never synced). One primary-key query."""
    rows = db.session.execute(
        select(CalendarSyncState.calendar_key, CalendarSyncState.window_end)
        .where(CalendarSyncState.calendar_key.in_(keys), CalendarSyncState.last_success_at.is_not(None))
    ).all()
    until = {key: 0 for key in keys}
    until.update({key: int(end.timestamp()) for key, end in rows if end is not None})
    return until


def mirror_version_expression(keys: list[str]):
    """A scalar subquery (text) that changes with every successful sync of one of ``keys``: the
    number of their sync states and the sum of their ``last_success_at``. ``sync_calendar`` is the
    only writer of busy time and stamps ``last_success_at`` in the same transaction (under the
    calendar's lock, so per calendar it only grows; a sum of growing values changes with every
    commit whatever the order of concurrent syncs of different calendars). A link removed or
    re-created changes the count or the sum. Primary-key reads only: no busy rows are touched.

    Writing ``calendar_busy_intervals`` by other means (tests, seeding) must stamp the state too."""
    if db.session.get_bind().dialect.name == "postgresql":
        epoch = literal(datetime(2000, 1, 1, tzinfo=UTC), UTCDateTime())  # a sum of intervals: exact
        stamp_sum = func.sum(CalendarSyncState.last_success_at - epoch)
    else:  # SQLite: naive UTC text; julianday() as whole milliseconds, summed as exact integers
        stamp_sum = func.sum(cast(func.round(func.julianday(CalendarSyncState.last_success_at) * 86400000),
                                  BigInteger))
    text_value = cast(func.count(), String) + ":" + func.coalesce(cast(stamp_sum, String), "")
    return select(text_value).where(CalendarSyncState.calendar_key.in_(keys)).scalar_subquery()


def object_count(key: str) -> int:
    return db.session.scalar(select(func.count()).select_from(CalendarObject)
                             .where(CalendarObject.calendar_key == key)) or 0
