"""The read side of the busy-time mirror: busy seconds per calendar, how far each calendar is mirrored,
and the version that changes with every sync (``staff_calendar.services`` is its facade).

Rules:

- ``mirrored_busy_seconds`` answers from a per-process index (one per app): per calendar, its whole
  mirrored busy time, merged and sorted, kept under the calendar's *sync version* (``mode``,
  ``sync_token``, window, ``last_success_at`` of its sync state). Every call reads the sync versions
  of its calendars (one primary-key statement) *before* any busy row, and uses an indexed calendar
  only when its version is unchanged; the others are read again (one statement for all of them) and
  indexed under the version just read. ``sync_calendar`` is the only writer of busy time and stamps
  ``last_success_at`` (under the calendar's lock, only growing) in the same transaction, so a change
  made by any process is seen by the very next call in every process; rows read after the version
  may only be newer than it, and then the next call reads them again.
- A calendar without a successful sync (no version) is read every time, never indexed.
- Writing ``calendar_busy_intervals`` by other means (tests, seeding) must stamp the sync state with
  a new ``last_success_at`` (``tests.factories.stamp_mirror``), as for ``mirror_version_expression``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import BigInteger, Float, String, bindparam, case, cast, func, literal, select

from citizen_portal.core.database import UTCDateTime
from citizen_portal.core.extensions import db
from citizen_portal.core.intervals import merge_intervals
from staff_calendar.calendars.models import BusyInterval, CalendarSyncState

MAX_CALENDARS = 4096  # indexed calendars per process (all of them are re-read after this many)


@dataclass(frozen=True)
class _Indexed:
    """The merged busy time of one calendar under one sync version: ``intervals`` sorted and
    disjoint, so ``starts`` and ``ends`` are both ascending (for ``bisect``)."""

    version: tuple
    intervals: list[tuple[int, int]]
    starts: list[int]
    ends: list[int]

    def overlapping(self, start: float, end: float) -> list[tuple[int, int]]:
        return self.intervals[bisect_right(self.ends, start):bisect_left(self.starts, end)]


def _index() -> dict[str, _Indexed]:
    index = current_app.extensions.get("calendar_busy_index")
    if index is None:
        index = current_app.extensions.setdefault("calendar_busy_index", {})
    return index


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


_KEYS = bindparam("keys", expanding=True)
# built once (building a statement costs more than running it)
_SYNC_VERSIONS = (
    select(CalendarSyncState.calendar_key, CalendarSyncState.mode, CalendarSyncState.sync_token,
           CalendarSyncState.window_start, CalendarSyncState.window_end, CalendarSyncState.last_success_at)
    .where(CalendarSyncState.calendar_key.in_(_KEYS), CalendarSyncState.last_success_at.is_not(None)))
_MIRRORED_UNTIL = (
    select(CalendarSyncState.calendar_key, CalendarSyncState.window_end)
    .where(CalendarSyncState.calendar_key.in_(_KEYS), CalendarSyncState.last_success_at.is_not(None)))


def _sync_versions(keys: list[str]) -> dict[str, tuple]:
    """Per successfully synced calendar of ``keys``, its sync version (one primary-key statement)."""
    rows = db.session.execute(_SYNC_VERSIONS, {"keys": list(keys)}).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _read_merged(keys: list[str]) -> dict[str, list[tuple[int, int]]]:
    """All mirrored busy time of ``keys``, merged per key: one lean Core query over the
    (calendar_key, start) index, sorted by the database."""
    start_s, end_s = _epoch_columns()
    rows = db.session.execute(
        select(BusyInterval.calendar_key, start_s, end_s)
        .where(BusyInterval.calendar_key.in_(keys))
        .order_by(BusyInterval.calendar_key, BusyInterval.start)
    ).all()
    grouped: dict[str, list[tuple[int, int]]] = {key: [] for key in keys}
    for key, start, end in rows:
        grouped[key].append((start, end))
    return {key: merge_intervals(intervals) for key, intervals in grouped.items()}


def mirrored_busy_seconds(keys: list[str], start: datetime, end: datetime) -> dict[str, list[tuple[int, int]]]:
    """Merged busy intervals per key as (start, end) POSIX seconds (start rounded down, end up)
    overlapping [start, end), from the per-process index (see the module's rules). An interval is
    merged with the calendar's busy time next to it, so the first and the last may reach beyond the
    range."""
    index = _index()
    versions = _sync_versions(keys)
    entries: dict[str, _Indexed] = {}  # taken once: another thread may replace or drop index entries
    for key in keys:
        entry = index.get(key)
        if entry is not None and key in versions and entry.version == versions[key]:
            entries[key] = entry
    stale = [key for key in keys if key not in entries]
    if stale:
        if len(index) + len(stale) > MAX_CALENDARS:
            index.clear()
        for key, intervals in _read_merged(stale).items():
            entries[key] = _Indexed(versions.get(key, ()), intervals, [s for s, _ in intervals],
                                    [e for _, e in intervals])
            if key in versions:  # a calendar without a successful sync is never indexed
                index[key] = entries[key]
    start_s, end_s = start.timestamp(), end.timestamp()
    return {key: entries[key].overlapping(start_s, end_s) for key in keys}


def mirrored_busy(keys: list[str], start: datetime, end: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """As ``mirrored_busy_seconds`` with aware UTC datetimes."""
    convert = datetime.fromtimestamp
    return {key: [(convert(s, UTC), convert(e, UTC)) for s, e in intervals]
            for key, intervals in mirrored_busy_seconds(keys, start, end).items()}


def mirrored_until_seconds(keys: list[str]) -> dict[str, int]:
    """Per key, the POSIX second up to which the mirror holds its busy time: the window end of its
    last successful sync (0 when it never synced). One primary-key query."""
    rows = db.session.execute(_MIRRORED_UNTIL, {"keys": list(keys)}).all()
    until = {key: 0 for key in keys}
    until.update({key: int(end.timestamp()) for key, end in rows if end is not None})
    return until


_VERSION_EXPRESSIONS: dict[tuple[str, tuple[str, ...]], Any] = {}  # (dialect, keys) -> the expression


def mirror_version_expression(keys: list[str]):
    """``_mirror_version_expression`` built once per dialect and set of keys (building it costs more
    than running it; it holds no values but the keys)."""
    memo_key = (db.session.get_bind().dialect.name, tuple(keys))
    expression = _VERSION_EXPRESSIONS.get(memo_key)
    if expression is None:
        if len(_VERSION_EXPRESSIONS) >= 1024:
            _VERSION_EXPRESSIONS.clear()
        expression = _VERSION_EXPRESSIONS[memo_key] = _mirror_version_expression(keys)
    return expression


def _mirror_version_expression(keys: list[str]):
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
