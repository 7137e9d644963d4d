"""``slot_engine.plan`` against a straightforward reference (every grid start of every working window,
checked against every blocked interval with datetimes) on a seeded city: four staff members (own
working hours, a night opening across the spring DST change, a calendar mirrored only part of the way,
one without a calendar), random mirrored busy time in the real mirror tables (stamped as a sync
does), appointments of every status, Good Friday. And the mirror's per-process busy index: reused
while a calendar's sync version stands, read again after a sync."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event

from citizen_portal.booking.models import CANCELLED, CONFIRMED, PENDING
from citizen_portal.booking.services.slot_engine import load_service, plan
from citizen_portal.core.calendar_days import WEEKDAYS, is_public_holiday
from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import BusyInterval, CalendarLink
from tests.citizen_portal.booking.factories import make_appointment, make_setup
from tests.factories import stamp_mirror

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 23, 6, 7, 30, tzinfo=UTC)  # Monday 07:07:30 local
FIRST, LAST = date(2026, 3, 23), date(2026, 4, 5)  # the DST change (29 March), Good Friday (3 April, BW)
HOURS = {**{day: ["08:00-12:00", "13:00-17:30"] for day in WEEKDAYS[:5]}, "sat": ["09:00-12:00"],
         "sun": ["01:00-04:00", "22:00-24:00"]}


def local(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=BERLIN).astimezone(UTC)


def _windows(opening: list[str], own: list[str] | None, day: date) -> list[tuple[datetime, datetime]]:
    def parse(ranges):
        result = []
        for item in ranges:
            a, b = item.split("-")
            end = (day + timedelta(days=1), time(0)) if b == "24:00" else (day, time.fromisoformat(b))
            result.append(((day, time.fromisoformat(a)), end))
        return result

    spans = parse(opening)
    if own is not None:
        spans = [(max(a, c), min(b, d)) for a, b in spans for c, d in parse(own) if min(b, d) > max(a, c)]
    return [(datetime.combine(*a, tzinfo=BERLIN).astimezone(UTC), datetime.combine(*b, tzinfo=BERLIN).astimezone(UTC))
            for a, b in spans]


def reference(service, staff, blocked, until) -> dict[datetime, tuple[int, ...]]:
    occupied = timedelta(minutes=service.duration_minutes + service.buffer_minutes)
    earliest = NOW + timedelta(hours=service.min_lead_hours)
    never = datetime.max.replace(tzinfo=UTC)
    free: dict[datetime, list[int]] = {}
    day = FIRST
    while day <= LAST:
        weekday = WEEKDAYS[day.weekday()]
        for member in [] if is_public_holiday(day, "BW") else sorted(staff, key=lambda m: m.id):
            own = (member.working_hours.get(weekday) or []) if member.working_hours else None
            for start, end in _windows(HOURS.get(weekday) or [], own, day):
                moment = start
                while moment + occupied <= end:
                    if (moment >= earliest and moment + occupied <= until.get(member.id, never)
                            and not any(a < moment + occupied and b > moment for a, b in blocked[member.id])):
                        free.setdefault(moment, []).append(member.id)
                    moment += occupied
        day += timedelta(days=1)
    return {moment: tuple(ids) for moment, ids in sorted(free.items())}


def _busy_rows(key: str, rng: random.Random, count: int) -> list[BusyInterval]:
    rows = []
    for number in range(count):
        day = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days + 1))
        start = local(day, rng.randrange(0, 23), rng.choice((0, 7, 15, 30, 52)), rng.choice((0, 0, 30)))
        rows.append(BusyInterval(calendar_key=key, href=f"/{key}/{number}.ics", start=start,
                                 end=start + timedelta(minutes=rng.choice((10, 25, 45, 90, 200)))))
    return rows


def _seed():
    location, service, staff = make_setup(4, opening_hours=HOURS, service_kw={
        "duration_minutes": 20, "buffer_minutes": 5, "min_lead_hours": 1},
        site_kw={"cancelled_slot_delay_minutes": 60})
    staff[0].working_hours = {"mon": ["09:10-11:00", "14:00-24:00"], "tue": ["07:00-10:00"], "sun": ["02:30-24:00"]}
    staff[1].working_hours = {"wed": ["12:00-16:00"], "sat": ["08:00-10:00"]}
    rng = random.Random(13)
    blocked: dict[int, list[tuple[datetime, datetime]]] = {member.id: [] for member in staff}
    for index, member in enumerate(staff[:3]):
        key = f"staff:ref{index}"
        db.session.add(CalendarLink(key=key, owner_kind="staff", owner_key=f"ref{index}", url="http://127.0.0.1:9/"))
        db.session.flush()
        member.calendar_key = key
        rows = _busy_rows(key, rng, 60)
        db.session.add_all(rows)
        blocked[member.id] += [(row.start, row.end) for row in rows]
    db.session.commit()
    until = {staff[2].id: local(date(2026, 3, 30), 12)}
    for member in staff[:3]:
        stamp_mirror(member.calendar_key, NOW - timedelta(minutes=10), **({"until": until[member.id]}
                                                                           if member.id in until else {}))
    tuesday, hold = date(2026, 3, 24), {"hold_expires_at": NOW + timedelta(minutes=10)}
    for member, hh, status, kw, blocks in [
            (staff[3], 9, CONFIRMED, {}, True),
            (staff[3], 10, PENDING, hold, True),
            (staff[3], 11, PENDING, {"hold_expires_at": NOW - timedelta(minutes=1)}, False),
            (staff[2], 14, CANCELLED, {"cancelled_at": NOW - timedelta(minutes=10)}, True),
            (staff[2], 15, CANCELLED, {"cancelled_at": NOW - timedelta(hours=2)}, False)]:
        appointment = make_appointment(service, location, member, local(tuesday, hh, 5), status=status, **kw)
        if blocks:
            blocked[member.id].append((appointment.start_at, appointment.blocked_until))
    return service, staff, blocked, until


def _plan(service_key: str):
    result = plan(load_service(service_key), FIRST, LAST, now=NOW, with_validity=True)
    return {slot.start: slot.staff_ids for slot in result.slots}


def test_plan_equals_the_reference_across_dst_holidays_and_every_blocking_rule(app):
    service, staff, blocked, until = _seed()
    expected = reference(service, staff, blocked, until)
    assert len(expected) > 150 and any(len(ids) == 1 for ids in expected.values())
    assert local(date(2026, 3, 29), 1) in expected and local(date(2026, 3, 29), 3, 15) in expected  # DST night
    assert _plan(service.key) == expected


def test_the_busy_index_is_reused_until_a_sync_and_then_read_again(app):
    service, staff, blocked, until = _seed()
    key = service.key
    _plan(key)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert _plan(key) == reference(service, staff, blocked, until)
        assert not [sql for sql in statements if "FROM calendar_busy_intervals" in sql]  # from the index
        # a sync of one calendar: one interval gone, one new, the state stamped in the same transaction
        member = staff[0]
        gone = db.session.query(BusyInterval).filter_by(calendar_key=member.calendar_key).first()
        blocked[member.id].remove((gone.start, gone.end))
        db.session.delete(gone)
        new = BusyInterval(calendar_key=member.calendar_key, href="/new.ics", start=local(date(2026, 3, 25), 8),
                           end=local(date(2026, 3, 25), 9, 40))
        db.session.add(new)
        blocked[member.id].append((new.start, new.end))
        stamp_mirror(member.calendar_key, NOW - timedelta(minutes=5))
        statements.clear()
        assert _plan(key) == reference(service, staff, blocked, until)
        assert len([sql for sql in statements if "FROM calendar_busy_intervals" in sql]) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
