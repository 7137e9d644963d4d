"""Per-process cache of computed free slots, validated against the database on every use.

An entry is the result of ``slots.plan`` for (service, location, first day, last day) and is used
only while all of these hold (checked on every request, so a change made by any worker, the admin
UI, the site loader or the calendar sync is visible on the very next request in every process; on
PostgreSQL, once its change notice has arrived, see below):

- the booking input version (``SlotVersion.token``, replaced by database triggers in the same
  transaction as any change of locations, services, staff, their links or the site settings, and
  by ``invalidate_for_staff_bookings`` in the transaction of a staff member's room booking) equals
  the one read *before* the entry's data was read;
- the sum of the staff/day versions (``StaffDayVersion``, raised by row triggers with every change
  of an appointment, hold or cancellation) of the entry's staff members over the UTC days it
  covers is unchanged: a booking invalidates only the answers covering that staff member and day,
  and bookings of different staff members write different rows;
- the mirror version of the entry's calendars (``staff_calendar.services.busy_version``) is unchanged;
- ``computed_at <= now < valid_until``: the time-dependent rules (a hold that runs out, a cancelled
  slot that is released after the delay, lead time passing the first slot, the local day/horizon
  moving at midnight) cannot have changed the result yet.

Cost of a hit: one small statement (the three versions), outside any transaction, on a pooled DBAPI
connection (``core.quick_reads``). On PostgreSQL none while the process listens for change notices
(``core.change_notices``; migration 2901 notifies from the three version tables): an entry keeps
the notice generation read before it was computed or last validated, and is validated by the
statement again only after a notice. Entries per app (``app.extensions``), least recently used out.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import func, select, update

from citizen_portal.booking.models import SlotVersion, StaffDayVersion, StaffMember
from citizen_portal.core import change_notices
from citizen_portal.core.extensions import db
from citizen_portal.core.quick_reads import one_row, precompiled
from staff_calendar import services as calendar_services

MAX_ENTRIES = 128  # a 4-week answer is ~50 KB of JSON plus its slots: bounded memory per worker

CacheKey = tuple[str, str | None, date, date]


@dataclass
class Entry:
    token: str
    computed_at: float
    valid_until: float
    calendar_keys: tuple[str, ...]
    mirror_version: str
    value: Any
    staff_ids: tuple[int, ...] = ()
    version_days: tuple[date, date] | None = None
    day_version: int = 0
    extras: dict[str, Any] = field(default_factory=dict)  # derived forms (e.g. the JSON body)


class SlotCache:
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self.entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: CacheKey, entry: Entry) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def slot_cache() -> SlotCache:
    cache = current_app.extensions.get("booking_slot_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("booking_slot_cache", SlotCache())
    return cache


_TOKEN = select(SlotVersion.token).where(SlotVersion.id == 1).scalar_subquery()


def invalidate_for_staff_bookings(_sender: object, *, usernames: tuple[str, ...] = (), **_extra: object) -> None:
    """Receiver of ``staff_calendar.services.staff_bookings_changed`` (connected in ``booking/jobs.py``):
    a room booking of a staff member was made or cancelled in the sender's open transaction. Replace
    the input version in that transaction, so every process recomputes after the commit. Bookings
    of people who serve no citizens change nothing."""
    if not usernames or not db.session.scalar(select(StaffMember.id).where(StaffMember.key.in_(usernames)).limit(1)):
        return
    db.session.execute(update(SlotVersion).where(SlotVersion.id == 1).values(token=uuid.uuid4().hex))


VERSION_DAY_SHIFT = timedelta(hours=2)  # as in migration 2201_booking_staff_day_versions


def version_day(moment: datetime) -> date:
    """The version day of a time (see ``StaffDayVersion``): the UTC date of ``moment`` + 2 hours."""
    return (moment.astimezone(UTC) + VERSION_DAY_SHIFT).date()


def _day_version_expression(staff_ids: tuple[int, ...], first: date, last: date):
    return (select(func.coalesce(func.sum(StaffDayVersion.version), 0))
            .where(StaffDayVersion.staff_id.in_(staff_ids), StaffDayVersion.day.between(first, last))
            .scalar_subquery())


def staff_day_version(staff_ids: list[int] | tuple[int, ...], first: date, last: date) -> int:
    """The sum of the staff/day versions of ``staff_ids`` on the UTC days ``first``..``last``
    (``slot_engine.plan`` reads it before the appointments; 0 without staff)."""
    if not staff_ids:
        return 0
    return int(one_row(select(_day_version_expression(tuple(staff_ids), first, last)))[0] or 0)


def input_version() -> str:
    """The booking input version (one primary-key read); "" when the row is missing, which then
    never validates an entry (see ``check``)."""
    return one_row(select(_TOKEN))[0] or ""


NOTICE_CHANNEL = change_notices.register("booking_slot_inputs")  # the three version tables (migration 2901)


class Validation(NamedTuple):
    valid: bool
    token: str  # the input version (read by the statement, or the entry's when none ran)
    notices: int | None  # the change-notice generation read first, when this process listens


def check(entry: Entry | None, now: datetime) -> Validation:
    """Whether ``entry`` is valid: one statement reads the input version and the entry's staff/day and
    mirror versions together, unless no change notice has arrived since the last such statement
    validated the entry (PostgreSQL; see ``core.change_notices``). ``notices`` is read before any
    statement, so an entry computed after this check may keep it."""
    seen = change_notices.seen(db.session(), NOTICE_CHANNEL)  # first: a later commit raises it
    if entry is None or not entry.computed_at <= now.timestamp() < entry.valid_until:
        return Validation(False, input_version(), seen)
    if seen is not None and entry.extras.get("notice_generation") == seen:
        return Validation(True, entry.token, seen)
    statement = entry.extras.get("check")
    if statement is None:  # built once per entry (building it costs more than running it)
        columns = [_TOKEN]
        if entry.staff_ids and entry.version_days:
            columns.append(_day_version_expression(entry.staff_ids, *entry.version_days))
        if entry.calendar_keys:
            columns.append(calendar_services.busy_version_expression(entry.calendar_keys))
        statement = entry.extras["check"] = precompiled(columns)
    row = list(one_row(statement))
    token = row.pop(0) or ""
    valid = bool(token) and token == entry.token
    if entry.staff_ids and entry.version_days:
        valid = valid and int(row.pop(0) or 0) == entry.day_version
    if entry.calendar_keys:
        valid = valid and row.pop(0) == entry.mirror_version
    if valid:
        entry.extras["notice_generation"] = seen
    return Validation(valid, token, seen)
