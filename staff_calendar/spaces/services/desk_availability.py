"""Reading desk data: desks, floors, availability per day (page and API), free counts, the days
that can be booked, a person's bookings and weekly usage.

- What can be booked now (horizon, closed days, half days over) is ``bookable``: the page's buttons,
  the API's ``bookable`` flags and the booking service all follow it.

- A blocked desk (``SpaceBlock``) is not free on the days the block covers; closed days (weekends,
  the Bundesland's public holidays, site closures) count no free desks.
- Per person and ISO week a half day counts ``HALF_DAY_WEIGHT`` (0.5) desk days; the limit of a floor
  is ``Floor.desk_days_per_week``, else the site's.
- The API answer (``desk_availability_json``) comes from a short-lived cache only while a fingerprint
  of the day's bookings and blocks, read fresh on every call, is unchanged.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from citizen_portal.core import change_notices, quick_reads
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from staff_calendar.spaces.models import HALVES, Desk, DeskBooking, Floor, SpaceBlock
from staff_calendar.spaces.services import bookable
from staff_calendar.spaces.services.common import (
    Actor,
    SpacesContext,
    closed_reason,
    load_settings,
    now,
    parts_to_halves,
    week_bounds,
)

HALF_DAY_WEIGHT = 0.5


@dataclass
class DeskAvailability:
    desk: Desk
    free: dict[str, bool]
    blocked_reason: str | None = None
    mine: dict[str, bool] = field(default_factory=dict)
    bookable: tuple[str, ...] = ()  # the halves of the day that can still be booked (``bookable``)

    def state(self, part: str) -> str:
        """What the page shows for ``part`` ("day", "morning", "afternoon"): ``bookable`` (a button),
        ``mine``, ``taken``, ``over`` (not bookable any more) or ``none`` (the whole day, not offered)."""
        halves = parts_to_halves(part)
        if all(self.free[half] and half in self.bookable for half in halves):
            return "bookable"
        if part == "day":
            return "none"
        if self.mine[part]:
            return "mine"
        return "taken" if not self.free[part] else "over"

    @property
    def offers_any(self) -> bool:
        return any(self.state(half) == "bookable" for half in HALVES)


@dataclass(frozen=True)
class DeskDay:
    """A day to choose on the desk page: why it is closed (or None), its halves that can still be
    booked, and the number of free desks per half."""

    day: date
    closed: str | None
    halves: tuple[str, ...]
    free: dict[str, int]

    @property
    def offers(self) -> bool:
        return any(self.free[half] for half in self.halves)


def active_desk(key: str) -> Desk:
    """A desk people can book or check in at: active, on an active floor; else NotFound.
    (The admin pages edit any desk: ``admin.any_desk``.)"""
    desk = db.session.execute(
        select(Desk).options(joinedload(Desk.floor)).where(Desk.key == key)
    ).scalar_one_or_none()
    if desk is None or not desk.active or not desk.floor.active:
        raise NotFound(_l("Diesen Arbeitsplatz gibt es nicht."))
    return desk


def active_floors() -> list[Floor]:
    return list(db.session.execute(select(Floor).where(Floor.active.is_(True)).order_by(Floor.key)).scalars())


def all_attributes() -> list[str]:
    values: set[str] = set()
    for attributes in db.session.execute(select(Desk.attributes).where(Desk.active.is_(True))).scalars():
        values.update(attributes or [])
    return sorted(values)


def desk_availability(
    day: date,
    *,
    floor_key: str | None = None,
    attributes: tuple[str, ...] = (),
    actor: Actor | None = None,
    moment: datetime | None = None,
) -> list[DeskAvailability]:
    """Every active desk (optionally of one floor and having all ``attributes``) with whether its
    halves are free on ``day`` and can be booked at ``moment`` (default now). Four queries, whatever
    the number of desks."""
    halves = bookable.bookable_halves(load_settings(), day, moment or now())
    query = (select(Desk).join(Floor).options(joinedload(Desk.floor))
             .where(Desk.active.is_(True), Floor.active.is_(True)).order_by(Floor.key, Desk.key))
    if floor_key:
        query = query.where(Floor.key == floor_key)
    desks = [d for d in db.session.execute(query).scalars() if set(attributes) <= set(d.attributes or [])]
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for desk_id, half, user_id in db.session.execute(
        select(DeskBooking.desk_id, DeskBooking.half, DeskBooking.user_id).where(DeskBooking.day == day)
    ):
        taken[desk_id][half] = user_id
    blocks = desk_blocks_on(day)
    result = []
    for desk in desks:
        reason = blocks.get(desk.id)
        booked = taken.get(desk.id, {})
        free = {half: reason is None and half not in booked for half in HALVES}
        mine = {half: actor is not None and booked.get(half) == actor.id for half in HALVES}
        result.append(DeskAvailability(desk, free, reason, mine, halves))
    return result


def _cached(key: tuple, build):
    """A per-app cache with a short TTL (``SPACES_CACHE_SECONDS``, default 10 s) for data that only
    the site file or an admin changes (desk layout, settings). Booking writes never use it."""
    ttl = float(current_app.config["SPACES_CACHE_SECONDS"])
    if ttl <= 0:
        return build()
    cache = current_app.extensions.setdefault("spaces_cache", {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    value = build()
    cache[key] = (now, value)
    return value


def _layout(floor_key: str | None) -> list[tuple[int, frozenset[str], str]]:
    """(desk id, attributes, JSON fragment of the desk without its free flags) of active desks."""
    query = (select(Desk.id, Desk.key, Desk.label, Desk.attributes, Floor.key.label("floor_key")).join(Floor)
             .where(Desk.active.is_(True), Floor.active.is_(True)).order_by(Floor.key, Desk.key))
    if floor_key:
        query = query.where(Floor.key == floor_key)
    return [(row.id, frozenset(row.attributes or ()),
             json.dumps({"key": row.key, "label": row.label, "floor": row.floor_key,
                         "attributes": list(row.attributes or [])}, separators=(",", ":"))[:-1])
            for row in db.session.execute(query)]


_FINGERPRINT = quick_reads.Prepared(select(
    select(func.count()).select_from(DeskBooking).where(DeskBooking.day == bindparam("day")).scalar_subquery(),
    select(func.max(DeskBooking.id)).where(DeskBooking.day == bindparam("day")).scalar_subquery(),
    select(func.max(DeskBooking.created_at)).where(DeskBooking.day == bindparam("day")).scalar_subquery(),
    *(select(aggregate).where(SpaceBlock.desk_id.is_not(None), SpaceBlock.first_day <= bindparam("day"),
                              SpaceBlock.last_day >= bindparam("day")).scalar_subquery()
      for aggregate in (func.count(), func.max(SpaceBlock.id)))))


def _answer_fingerprint(day: date) -> tuple:
    """Changes whenever a booking or a block that matters for ``day`` is added or removed: count,
    highest id and newest creation of the day's bookings, and the blocks covering the day.
    One statement compiled once (``core.quick_reads``): this runs on every availability request."""
    return _FINGERPRINT.first(day=day)


NOTICE_CHANNEL = change_notices.register("spaces_desk_inputs")  # desk_bookings, space_blocks (migration 2902)


def desk_availability_json(day: date, *, floor_key: str | None = None, attributes: tuple[str, ...] = ()) -> str:
    """The API's answer for ``GET /desks`` as a JSON string, built for speed: the desk layout and
    the site settings come from a short-lived cache; the answer itself is reused only while a
    fingerprint of the day's bookings and blocks, read fresh on every call, and the halves that can
    still be booked are unchanged. On PostgreSQL the fingerprint is not read while no change notice
    of the two tables has arrived since it was last read (``core.change_notices``)."""
    settings = _cached(("settings",), load_settings)
    wanted = frozenset(attributes)
    layout = _cached(("layout", floor_key), lambda: _layout(floor_key))
    ttl = float(current_app.config["SPACES_CACHE_SECONDS"])
    answers = current_app.extensions.setdefault("spaces_answers", {})
    halves = bookable.bookable_halves(settings, day, now())
    key = (day, floor_key, wanted, halves)
    seen = change_notices.seen(db.session(), NOTICE_CHANNEL)  # before the fingerprint
    hit = answers.get(key)
    if hit is not None and seen is not None and hit[4] == seen and hit[1] is layout and hit[2] is settings:
        return hit[3]
    fingerprint = _answer_fingerprint(day) if ttl > 0 else None
    if hit is not None and fingerprint is not None and hit[0] == fingerprint and hit[1] is layout \
            and hit[2] is settings:
        answers[key] = (*hit[:4], seen)
        return hit[3]
    body = _build_answer(day, settings, halves, [entry for entry in layout if wanted <= entry[1]])
    if fingerprint is not None:
        if len(answers) > 1000:
            answers.clear()
        answers[key] = (fingerprint, layout, settings, body, seen)
    return body


def _build_answer(day: date, settings: SpacesContext, halves: tuple[str, ...],
                  layout: list[tuple[int, frozenset[str], str]]) -> str:
    """``free``: not booked, not blocked, not closed; ``bookable``: free and can still be booked now."""
    reason = closed_reason(settings, day)
    taken = {(desk_id, half) for desk_id, half in db.session.execute(
        select(DeskBooking.desk_id, DeskBooking.half).where(DeskBooking.day == day))}
    blocks = desk_blocks_on(day)
    parts = []
    for desk_id, _attributes, fragment in layout:
        blocked = blocks.get(desk_id)
        free = {half: not (reason or blocked is not None or (desk_id, half) in taken) for half in HALVES}
        flags = ",".join(f'"{half}":{"true" if free[half] else "false"}' for half in HALVES)
        offered = ",".join(f'"{half}":{"true" if free[half] and half in halves else "false"}' for half in HALVES)
        extra = f',"blocked":{json.dumps(blocked)}' if blocked is not None else ""
        parts.append(f'{fragment},"free":{{{flags}}},"bookable":{{{offered}}}{extra}}}')
    closed = f',"closed":{json.dumps(str(reason))}' if reason else ""
    return f'{{"date":"{day.isoformat()}"{closed},"desks":[{",".join(parts)}]}}'


def free_counts(first: date, last: date, *, floor_key: str | None = None) -> dict[date, dict[str, int]]:
    """Number of free desks per day and half (closed days: 0), for the overview table."""
    settings = load_settings()
    closed = settings.closed_days()
    desk_query = select(Desk.id).join(Floor).where(Desk.active.is_(True), Floor.active.is_(True))
    if floor_key:
        desk_query = desk_query.where(Floor.key == floor_key)
    desk_ids = set(db.session.execute(desk_query).scalars())
    booked: dict[tuple[date, str], int] = defaultdict(int)
    for day, half, count in db.session.execute(
        select(DeskBooking.day, DeskBooking.half, func.count())
        .where(DeskBooking.day.between(first, last), DeskBooking.desk_id.in_(desk_ids))
        .group_by(DeskBooking.day, DeskBooking.half)
    ):
        booked[(day, half)] = count
    blocked: dict[date, set[int]] = defaultdict(set)
    for block in db.session.execute(
        select(SpaceBlock).where(SpaceBlock.desk_id.is_not(None), SpaceBlock.first_day <= last,
                                 SpaceBlock.last_day >= first)
    ).scalars():
        current = max(block.first_day, first)
        while current <= min(block.last_day, last):
            if block.desk_id in desk_ids:
                blocked[current].add(block.desk_id)
            current += timedelta(days=1)
    counts: dict[date, dict[str, int]] = {}
    current = first
    while current <= last:
        if closed_reason(settings, current, closed=closed):
            counts[current] = {half: 0 for half in HALVES}
        else:
            available = len(desk_ids) - len(blocked.get(current, ()))
            counts[current] = {half: max(available - booked[(current, half)], 0) for half in HALVES}
        current += timedelta(days=1)
    return counts


def desk_blocks_on(day: date) -> dict[int, str]:
    return dict(db.session.execute(
        select(SpaceBlock.desk_id, SpaceBlock.reason).where(
            SpaceBlock.desk_id.is_not(None), SpaceBlock.first_day <= day, SpaceBlock.last_day >= day)
    ).all())


def desk_days(*, floor_key: str | None = None, moment: datetime | None = None) -> list[DeskDay]:
    """The days of the horizon to choose from on the desk page (``bookable.desk_days``: today only
    while some half of it can still be booked), with their free desks per half."""
    settings = load_settings()
    days = bookable.desk_days(settings, moment or now())
    counts = free_counts(days[0][0], days[-1][0], floor_key=floor_key) if days else {}
    return [DeskDay(day, reason, halves, counts[day]) for day, reason, halves in days]


def my_desk_bookings(actor: Actor, first: date, last: date) -> list[DeskBooking]:
    return list(db.session.execute(
        select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
        .where(DeskBooking.user_id == actor.id, DeskBooking.day.between(first, last))
        .order_by(DeskBooking.day, DeskBooking.half.desc())
    ).scalars())


def week_usage(user_id: int, day: date) -> float:
    """Desk days the person has booked in ``day``'s ISO week (a half day counts 0.5)."""
    monday, sunday = week_bounds(day)
    halves = db.session.execute(
        select(func.count()).select_from(DeskBooking)
        .where(DeskBooking.user_id == user_id, DeskBooking.day.between(monday, sunday))
    ).scalar_one()
    return halves * HALF_DAY_WEIGHT


def weekly_limit(settings: SpacesContext, floor: Floor) -> float:
    return float(floor.desk_days_per_week) if floor.desk_days_per_week is not None else settings.desk_days_per_week
