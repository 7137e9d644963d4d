"""Desk booking rules.

- A desk is booked per half day (``morning``/``afternoon``); ``day`` books both halves, which then
  share one calendar event (``group_uid``).
- Only working days that are no public holiday of the site's Bundesland and no site closure;
  from today up to ``horizon_days`` ahead (series: ``series_horizon_days``); a half day that is over
  cannot be booked; a blocked or inactive desk cannot be booked.
- One desk per person per half day; one person per desk and half day (database constraints).
- Per person and ISO week at most ``desk_days_per_week`` desk days, **a half day counting 0.5**;
  the limit of the floor being booked applies (``Floor.desk_days_per_week``, else the site's) and
  counts the person's bookings on every floor.
- Every booking is written to the booker's calendar ``staff:<username>`` as a TRANSPARENT event
  (it never blocks citizen appointments); cancelling removes or shrinks it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from citizen_portal.database import write_transaction
from citizen_portal.errors import Conflict, Forbidden, Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l, localized, utc_now
from staff_calendar import services as calendar
from staff_calendar.spaces.models import HALVES, Desk, DeskBooking, Floor, SpaceBlock
from staff_calendar.spaces.services.common import (
    Actor,
    SpacesSettings,
    closed_reason,
    load_settings,
    local_moment,
    new_uid,
    parts_to_halves,
    today_local,
    user_calendar_key,
    week_bounds,
)

HALF_DAY_WEIGHT = 0.5


@dataclass
class DeskAvailability:
    desk: Desk
    free: dict[str, bool]
    blocked_reason: str | None = None
    mine: dict[str, bool] = field(default_factory=dict)


@dataclass
class SeriesResult:
    day: date
    booked: bool
    reason: str = ""


# --- reading -------------------------------------------------------------------------------------

def get_desk(key: str) -> Desk:
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
) -> list[DeskAvailability]:
    """Every active desk (optionally of one floor and having all ``attributes``) with whether its
    halves are free on ``day``. Three queries, whatever the number of desks."""
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
    blocks = _blocks_on(day)
    result = []
    for desk in desks:
        reason = blocks.get(desk.id)
        booked = taken.get(desk.id, {})
        free = {half: reason is None and half not in booked for half in HALVES}
        mine = {half: actor is not None and booked.get(half) == actor.id for half in HALVES}
        result.append(DeskAvailability(desk, free, reason, mine))
    return result


def _cached(key: tuple, build):
    """A per-app cache with a short TTL (``SPACES_CACHE_SECONDS``, default 10 s) for data that only
    the site file or an admin changes (desk layout, settings). Booking writes never use it."""
    ttl = float(current_app.config.get("SPACES_CACHE_SECONDS", 10))
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


_FINGERPRINT = text(
    "SELECT (SELECT count(*) FROM desk_bookings WHERE day = :day),"
    " (SELECT max(id) FROM desk_bookings WHERE day = :day),"
    " (SELECT max(created_at) FROM desk_bookings WHERE day = :day),"
    " (SELECT count(*) FROM space_blocks WHERE desk_id IS NOT NULL AND first_day <= :day AND last_day >= :day),"
    " (SELECT max(id) FROM space_blocks WHERE desk_id IS NOT NULL AND first_day <= :day AND last_day >= :day)"
).bindparams(bindparam("day", type_=Date()))


def _answer_fingerprint(day: date) -> tuple:
    """Changes whenever a booking or a block that matters for ``day`` is added or removed: count,
    highest id and newest creation of the day's bookings, and the blocks covering the day.
    A prebuilt text statement: this runs on every availability request."""
    return tuple(db.session.execute(_FINGERPRINT, {"day": day}).one())


def desk_availability_json(day: date, *, floor_key: str | None = None, attributes: tuple[str, ...] = ()) -> str:
    """The API's answer for ``GET /desks`` as a JSON string, built for speed: the desk layout and
    the site settings come from a short-lived cache; the answer itself is reused only while a
    fingerprint of the day's bookings and blocks, read fresh on every call, is unchanged."""
    settings = _cached(("settings",), load_settings)
    wanted = frozenset(attributes)
    layout = _cached(("layout", floor_key), lambda: _layout(floor_key))
    ttl = float(current_app.config.get("SPACES_CACHE_SECONDS", 10))
    answers = current_app.extensions.setdefault("spaces_answers", {})
    key = (day, floor_key, wanted)
    fingerprint = _answer_fingerprint(day) if ttl > 0 else None
    hit = answers.get(key)
    if hit is not None and fingerprint is not None and hit[0] == fingerprint and hit[1] is layout \
            and hit[2] is settings:
        return hit[3]
    body = _build_answer(day, settings, [entry for entry in layout if wanted <= entry[1]])
    if fingerprint is not None:
        if len(answers) > 1000:
            answers.clear()
        answers[key] = (fingerprint, layout, settings, body)
    return body


def _build_answer(day: date, settings: SpacesSettings, layout: list[tuple[int, frozenset[str], str]]) -> str:
    reason = closed_reason(settings, day)
    taken = {(desk_id, half) for desk_id, half in db.session.execute(
        select(DeskBooking.desk_id, DeskBooking.half).where(DeskBooking.day == day))}
    blocks = _blocks_on(day)
    parts = []
    for desk_id, _attributes, fragment in layout:
        blocked = blocks.get(desk_id)
        morning = "false" if reason or blocked is not None or (desk_id, "morning") in taken else "true"
        afternoon = "false" if reason or blocked is not None or (desk_id, "afternoon") in taken else "true"
        extra = f',"blocked":{json.dumps(blocked)}' if blocked is not None else ""
        parts.append(f'{fragment},"free":{{"morning":{morning},"afternoon":{afternoon}}}{extra}}}')
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


def _blocks_on(day: date) -> dict[int, str]:
    return dict(db.session.execute(
        select(SpaceBlock.desk_id, SpaceBlock.reason).where(
            SpaceBlock.desk_id.is_not(None), SpaceBlock.first_day <= day, SpaceBlock.last_day >= day)
    ).all())


def bookable_days(settings: SpacesSettings | None = None) -> list[tuple[date, str | None]]:
    """The days of the horizon with the reason each one is closed (None: open)."""
    settings = settings or load_settings()
    closed = settings.closed_days()
    today = today_local()
    return [(today + timedelta(days=n), closed_reason(settings, today + timedelta(days=n), closed=closed))
            for n in range(settings.horizon_days)]


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


def weekly_limit(settings: SpacesSettings, floor: Floor) -> float:
    return float(floor.desk_days_per_week) if floor.desk_days_per_week is not None else settings.desk_days_per_week


# --- writing -------------------------------------------------------------------------------------

def _validate_day(settings: SpacesSettings, desk: Desk, day: date, halves: tuple[str, ...], *, series: bool) -> None:
    """Rules that need no lock: horizon, closed days, half days already over, blocks."""
    today = today_local()
    horizon = settings.series_horizon_days if series else settings.horizon_days
    if day < today:
        raise Invalid(_l("Dieser Tag liegt in der Vergangenheit."),
                      fields={"date": _l("Dieser Tag liegt in der Vergangenheit.")}, code="past")
    if day >= today + timedelta(days=horizon):
        message = _l("Sie können höchstens %(days)s Tage im Voraus buchen.", days=horizon)
        raise Invalid(message, fields={"date": message}, code="beyond_horizon")
    reason = closed_reason(settings, day)
    if reason:
        message = _l("An diesem Tag kann nicht gebucht werden: %(reason)s.", reason=reason)
        raise Invalid(message, fields={"date": message}, code="closed")
    now = utc_now()
    for half in halves:
        if local_moment(day, settings.half_range(half)[1]) <= now:
            message = _l("Dieser Halbtag ist schon vorbei.")
            raise Invalid(message, fields={"part": message}, code="past")
    block = _blocks_on(day).get(desk.id)
    if block is not None:
        raise Conflict(_l("Dieser Arbeitsplatz ist gesperrt: %(reason)s", reason=block), code="blocked")


def _insert_halves(
    settings: SpacesSettings, actor: Actor, desk: Desk, day: date, halves: tuple[str, ...], series_uid: str | None
) -> list[DeskBooking]:
    """Inside the write transaction: re-check, insert, queue the calendar event."""
    existing = db.session.execute(
        select(DeskBooking.desk_id, DeskBooking.user_id, DeskBooking.half).where(
            DeskBooking.day == day, DeskBooking.half.in_(halves),
            (DeskBooking.desk_id == desk.id) | (DeskBooking.user_id == actor.id))
    ).all()
    if any(row.desk_id == desk.id for row in existing):
        raise Conflict(_l("Dieser Arbeitsplatz ist zu dieser Zeit schon gebucht."), code="desk_taken")
    if existing:
        raise Conflict(_l("Sie haben zu dieser Zeit schon einen Arbeitsplatz gebucht."), code="already_booked")
    limit = weekly_limit(settings, desk.floor)
    used = week_usage(actor.id, day)
    if used + HALF_DAY_WEIGHT * len(halves) > limit:
        raise Conflict(
            _l("Sie haben in dieser Woche schon %(used)s von %(limit)s Arbeitstagen gebucht.",
               used=_number(used), limit=_number(limit)),
            code="weekly_limit",
        )
    group_uid = new_uid()
    rows = [DeskBooking(desk_id=desk.id, user_id=actor.id, day=day, half=half, group_uid=group_uid,
                        series_uid=series_uid) for half in halves]
    db.session.add_all(rows)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("Dieser Arbeitsplatz ist zu dieser Zeit schon gebucht."), code="desk_taken") from None
    _queue_event(settings, actor.username, desk, rows)
    return rows


def _number(value: float) -> str:
    return f"{value:g}"


def book_desk(actor: Actor, desk_key: str, day: date, part: str) -> list[DeskBooking]:
    """Book ``desk_key`` on ``day`` for ``part`` ("day", "morning", "afternoon")."""
    halves = parts_to_halves(part)
    settings = load_settings()
    desk = get_desk(desk_key)
    _validate_day(settings, desk, day, halves, series=False)
    with write_transaction(f"desk:{desk.id}:{day.isoformat()}", f"desk-user:{actor.id}"):
        desk = get_desk(desk_key)
        rows = _insert_halves(settings, actor, desk, day, halves, None)
    calendar.request_drain()
    return rows


def book_desk_series(
    actor: Actor, desk_key: str, part: str, weekdays: tuple[int, ...], first_day: date, weeks: int
) -> list[SeriesResult]:
    """Book the desk on each of ``weekdays`` (0 = Monday) for ``weeks`` weeks from ``first_day``;
    each date is booked or reported with the reason it could not be."""
    halves = parts_to_halves(part)
    if not weekdays:
        raise Invalid(fields={"weekdays": _l("Bitte wählen Sie mindestens einen Wochentag.")})
    if not 1 <= weeks <= 26:
        raise Invalid(fields={"weeks": _l("Bitte geben Sie 1 bis 26 Wochen an.")})
    settings = load_settings()
    desk = get_desk(desk_key)
    days = [first_day + timedelta(days=n) for n in range(weeks * 7)
            if (first_day + timedelta(days=n)).weekday() in weekdays]
    series_uid = new_uid()
    results: list[SeriesResult] = []
    booked_any = False
    with write_transaction(f"desk:{desk.id}:series", f"desk-user:{actor.id}"):
        desk = get_desk(desk_key)
        for day in days:
            try:
                _validate_day(settings, desk, day, halves, series=True)
                _insert_halves(settings, actor, desk, day, halves, series_uid)
            except (Invalid, Conflict) as error:
                results.append(SeriesResult(day, False, str(error.message)))
            else:
                booked_any = True
                results.append(SeriesResult(day, True))
    if booked_any:
        calendar.request_drain()
    return results


def _get_own_booking(actor: Actor, booking_id: int) -> DeskBooking:
    booking = db.session.get(DeskBooking, booking_id)
    if booking is None:
        raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
    if booking.user_id != actor.id and not actor.is_admin:
        raise Forbidden()
    return booking


def cancel_desk_booking(actor: Actor, booking_id: int, part: str = "day") -> int:
    """Cancel a booking: ``part`` "day" cancels every half of its group, a half only that half.
    Returns the number of half days cancelled. The calendar event shrinks or goes."""
    if part not in ("day", "morning", "afternoon"):
        raise Invalid(fields={"part": _l("Bitte wählen Sie ganzer Tag, Vormittag oder Nachmittag.")})
    booking = _get_own_booking(actor, booking_id)
    group_uid = booking.group_uid
    with write_transaction(f"desk-user:{booking.user_id}"):
        rows = list(db.session.execute(
            select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
            .where(DeskBooking.group_uid == group_uid)).scalars())
        if not rows:
            raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
        if rows[0].day < today_local():
            raise Invalid(_l("Vergangene Buchungen können nicht storniert werden."), code="past")
        doomed = [row for row in rows if part == "day" or row.half == part]
        if not doomed:
            raise NotFound(_l("Diese Buchung gibt es nicht (mehr)."))
        username = _username(rows[0].user_id)
        remaining = [row for row in rows if row not in doomed]
        for row in doomed:
            db.session.delete(row)
        _requeue_event(load_settings(), username, rows[0].desk, group_uid, remaining)
        count = len(doomed)
    calendar.request_drain()
    return count


def check_in(actor: Actor, booking_id: int) -> None:
    """Check in to one's own booking for today (all halves of its group)."""
    booking = _get_own_booking(actor, booking_id)
    if booking.user_id != actor.id:
        raise Forbidden()
    _check_in_group(booking)


def check_in_at_desk(actor: Actor, desk_key: str) -> DeskBooking:
    """Check in at the desk whose QR code was scanned: the actor's booking there today."""
    desk = get_desk(desk_key)
    booking = db.session.execute(
        select(DeskBooking).where(DeskBooking.desk_id == desk.id, DeskBooking.user_id == actor.id,
                                  DeskBooking.day == today_local()).order_by(DeskBooking.half.desc())
    ).scalars().first()
    if booking is None:
        raise NotFound(_l("Sie haben diesen Arbeitsplatz heute nicht gebucht."), code="no_booking")
    _check_in_group(booking)
    return booking


def _check_in_group(booking: DeskBooking) -> None:
    if booking.day != today_local():
        raise Invalid(_l("Einchecken ist nur am Tag der Buchung möglich."), code="not_today")
    group_uid = booking.group_uid
    with write_transaction(f"desk-user:{booking.user_id}"):
        now = utc_now()
        for row in db.session.execute(select(DeskBooking).where(DeskBooking.group_uid == group_uid)).scalars():
            if row.checked_in_at is None:
                row.checked_in_at = now


# --- calendar ------------------------------------------------------------------------------------

def _username(user_id: int) -> str:
    from staff_calendar.spaces.services.common import users_table

    return db.session.execute(select(users_table.c.username).where(users_table.c.id == user_id)).scalar_one()


def desk_title(desk: Desk) -> str:
    return desk.label or desk.key


def _event_fields(settings: SpacesSettings, desk: Desk, rows: list[DeskBooking]) -> dict:
    halves = sorted((row.half for row in rows), key=HALVES.index)
    day = rows[0].day
    start = local_moment(day, settings.half_range(halves[0])[0])
    end = local_moment(day, settings.half_range(halves[-1])[1])
    return {
        "summary": f"Arbeitsplatz {desk_title(desk)}",
        "start": start,
        "end": end,
        "location": f"{localized(desk.floor.name, desk.floor.key)}, {desk_title(desk)}",
        "transparent": True,
    }


def desk_event_uid(group_uid: str) -> str:
    return calendar.event_uid("desk", group_uid)


def _queue_event(settings: SpacesSettings, username: str, desk: Desk, rows: list[DeskBooking]) -> None:
    key = user_calendar_key(username)
    if key is None:
        return
    calendar.schedule_event(calendar_key=key, uid=desk_event_uid(rows[0].group_uid),
                            **_event_fields(settings, desk, rows))


def _requeue_event(settings: SpacesSettings, username: str, desk: Desk, group_uid: str,
                   remaining: list[DeskBooking]) -> None:
    key = user_calendar_key(username)
    if key is None:
        return
    if remaining:
        calendar.schedule_event(calendar_key=key, uid=desk_event_uid(group_uid),
                                **_event_fields(settings, desk, remaining))
    else:
        calendar.schedule_event_removal(calendar_key=key, uid=desk_event_uid(group_uid))


def feed_events(user_id: int, since: date) -> list[dict]:
    """The person's desk bookings from ``since`` as feed events (one per group)."""
    settings = load_settings()
    groups: dict[str, list[DeskBooking]] = defaultdict(list)
    for row in db.session.execute(
        select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
        .where(DeskBooking.user_id == user_id, DeskBooking.day >= since)
    ).scalars():
        groups[row.group_uid].append(row)
    events = []
    for group_uid, rows in groups.items():
        fields = _event_fields(settings, rows[0].desk, rows)
        events.append({"uid": desk_event_uid(group_uid), "description": None, "sequence": 0, **fields})
    return events

