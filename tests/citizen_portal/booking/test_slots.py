"""Slot engine rules, one test each (busy time from the mirror is faked in these unit tests;
``test_integration_calendar.py`` uses the real mirror)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, literal

from citizen_portal.booking.models import CANCELLED, PENDING
from citizen_portal.booking.services import find_slots
from citizen_portal.booking.settings import BookingSettings
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from staff_calendar import services as calendar_services
from tests.citizen_portal.booking.factories import make_appointment, make_setup
from tests.factories import make_location, make_service, make_staff

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday
TUESDAY = date(2026, 3, 3)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def starts(slots) -> list[str]:
    return [slot.start.astimezone(BERLIN).strftime("%H:%M") for slot in slots]


@pytest.fixture
def busy(monkeypatch):
    """Fake mirror: ``busy[calendar_key] = [(start, end)]``; records the calls. The engine reads
    ``busy_seconds``, ``mirrored_until`` (every calendar here is mirrored far ahead) and
    ``busy_version`` for its cache: all are faked from the same data."""
    data: dict[str, list] = {}
    calls: list = []

    def fake(keys, start, end):
        calls.append(sorted(keys))
        return {key: [(int(a.timestamp()), int(b.timestamp())) for a, b in data.get(key, [])] for key in keys}

    def fake_version(keys):
        return literal(repr([(key, data.get(key, [])) for key in sorted(keys)]))

    monkeypatch.setattr(calendar_services, "busy_seconds", fake)
    monkeypatch.setattr(calendar_services, "mirrored_until", lambda keys: {key: 2**40 for key in keys})
    monkeypatch.setattr(calendar_services, "busy_version_expression", fake_version)
    data["calls"] = calls
    return data


def test_opening_hours_give_grid_of_duration(app):
    _, service, _ = make_setup()
    slots = find_slots(service.key, TUESDAY, TUESDAY, now=NOW)
    assert starts(slots) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert slots[0].end - slots[0].start == timedelta(minutes=30)


def test_staff_working_hours_intersect_opening_hours(app):
    _location, service, [member] = make_setup()
    member.working_hours = {"tue": ["10:00-14:00"]}
    db.session.commit()
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW)) == ["10:00", "10:30", "11:00", "11:30"]


def test_closure_day_has_no_slots(app):
    location, service, _ = make_setup()
    location.closures = [TUESDAY.isoformat()]
    db.session.commit()
    assert find_slots(service.key, TUESDAY, TUESDAY, now=NOW) == []


def test_public_holidays_of_the_bundesland(app):
    corpus_christi = date(2026, 6, 4)  # Fronleichnam: holiday in BW, not in Lower Saxony
    _, service, _ = make_setup(holidays="BW")
    assert find_slots(service.key, corpus_christi, corpus_christi, now=NOW) == []


def test_public_holidays_depend_on_the_bundesland(app):
    corpus_christi = date(2026, 6, 4)
    _, service, _ = make_setup(holidays="NI")
    assert len(find_slots(service.key, corpus_christi, corpus_christi, now=NOW)) == 8


def test_spring_dst_day_in_site_zone(app):
    day = date(2026, 3, 29)  # Sunday, 02:00 -> 03:00
    _, service, _ = make_setup()
    slots = find_slots(service.key, day, day, now=NOW)
    assert slots[0].start == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert slots[0].to_json()["start"] == "2026-03-29T08:00:00+02:00"
    assert len(slots) == 8


def test_autumn_dst_day_in_site_zone(app):
    day = date(2026, 10, 25)  # Sunday, 03:00 -> 02:00
    _, service, _ = make_setup()
    slots = find_slots(service.key, day, day, now=NOW)
    assert slots[0].start == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert slots[0].to_json()["start"] == "2026-10-25T08:00:00+01:00"
    assert len(slots) == 8


def test_night_opening_across_dst_counts_real_time(app):
    night = {"sun": ["01:00-04:00"]}
    _, service, _ = make_setup(opening_hours=night)
    spring = find_slots(service.key, date(2026, 3, 29), date(2026, 3, 29), now=NOW)
    autumn = find_slots(service.key, date(2026, 10, 25), date(2026, 10, 25), now=NOW)
    assert len(spring) == 4  # 01:00-04:00 CET/CEST is two real hours
    assert len(autumn) == 8  # ... and four real hours in October
    assert [s.to_json()["start"][11:] for s in spring] == [
        "01:00:00+01:00", "01:30:00+01:00", "03:00:00+02:00", "03:30:00+02:00"]


def test_mirrored_busy_time_blocks_the_staff_member(app, busy):
    _location, service, [member] = make_setup()
    member.calendar_key = None
    db.session.commit()
    from staff_calendar.calendars.models import CalendarLink

    db.session.add(CalendarLink(key="staff:x", owner_kind="staff", owner_key="x", url="http://127.0.0.1:9/"))
    db.session.commit()
    member.calendar_key = "staff:x"
    db.session.commit()
    busy["staff:x"] = [(local(TUESDAY, 8, 15), local(TUESDAY, 9, 0))]
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW))[:2] == ["09:00", "09:30"]


def test_one_busy_call_for_all_staff(app, busy):
    from staff_calendar.calendars.models import CalendarLink

    _location, service, members = make_setup(staff_count=3)
    for index, member in enumerate(members):
        db.session.add(CalendarLink(key=f"staff:m{index}", owner_kind="staff", owner_key=f"m{index}",
                                    url="http://127.0.0.1:9/"))
        db.session.commit()
        member.calendar_key = f"staff:m{index}"
    db.session.commit()
    find_slots(service.key, TUESDAY, TUESDAY + timedelta(days=27), now=NOW)
    assert busy["calls"] == [["staff:m0", "staff:m1", "staff:m2"]]


def test_existing_appointment_and_its_buffer_block(app):
    location, service, [member] = make_setup(service_kw={"buffer_minutes": 0})
    other = make_service(locations=[location], duration_minutes=30, buffer_minutes=30, min_lead_hours=0)
    member.services.append(other)
    db.session.commit()
    make_appointment(other, location, member, local(TUESDAY, 9, 0))  # blocks 09:00-10:00
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW)) == [
        "08:00", "08:30", "10:00", "10:30", "11:00", "11:30"]


def test_own_buffer_must_fit_before_next_busy_time(app):
    _location, service, [_member] = make_setup(service_kw={"buffer_minutes": 15})
    # grid steps by duration + buffer (45 min); the last slot's buffer must end by 12:00
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW)) == ["08:00", "08:45", "09:30", "10:15", "11:00"]


def test_live_hold_blocks_expired_hold_does_not(app):
    location, service, [member] = make_setup()
    make_appointment(service, location, member, local(TUESDAY, 8, 0), status=PENDING,
                     hold_expires_at=NOW + timedelta(minutes=5))
    make_appointment(service, location, member, local(TUESDAY, 9, 0), status=PENDING,
                     hold_expires_at=NOW - timedelta(minutes=1))
    result = starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW))
    assert "08:00" not in result and "09:00" in result


def test_recently_cancelled_slot_is_held_back(app):
    location, service, [member] = make_setup(site_kw={"cancelled_slot_delay_minutes": 60})
    make_appointment(service, location, member, local(TUESDAY, 8, 0), status=CANCELLED,
                     cancelled_at=NOW - timedelta(minutes=10))
    make_appointment(service, location, member, local(TUESDAY, 9, 0), status=CANCELLED,
                     cancelled_at=NOW - timedelta(minutes=90))
    result = starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW))
    assert "08:00" not in result and "09:00" in result


def test_cancelled_slot_delay_defaults_to_the_declared_value(app):
    """A database without the setting and a loaded site file hold a cancelled slot back equally long."""
    assert BookingSettings().cancelled_slot_delay_minutes == 30
    location, service, [member] = make_setup()
    make_appointment(service, location, member, local(TUESDAY, 8, 0), status=CANCELLED,
                     cancelled_at=NOW - timedelta(minutes=25))
    make_appointment(service, location, member, local(TUESDAY, 9, 0), status=CANCELLED,
                     cancelled_at=NOW - timedelta(minutes=35))
    result = starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW))
    assert "08:00" not in result and "09:00" in result


def test_slot_step_minutes_sets_the_grid(app):
    _, service, _ = make_setup(site_kw={"slot_step_minutes": 10}, opening_hours={"tue": ["08:00-09:00"]})
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=NOW)) == ["08:00", "08:10", "08:20", "08:30"]


def test_min_lead_time(app):
    _, service, _ = make_setup(service_kw={"min_lead_hours": 2})
    now = local(TUESDAY, 8, 10)
    assert starts(find_slots(service.key, TUESDAY, TUESDAY, now=now))[0] == "10:30"


def test_horizon(app):
    _, service, _ = make_setup(service_kw={"horizon_days": 3})
    slots = find_slots(service.key, TUESDAY, TUESDAY + timedelta(days=10), now=NOW)
    assert max(slot.start.astimezone(BERLIN).date() for slot in slots) == date(2026, 3, 5)


def test_past_days_have_no_slots(app):
    _, service, _ = make_setup()
    assert find_slots(service.key, date(2026, 2, 20), date(2026, 3, 1), now=NOW) == []


def test_only_qualified_staff_count(app):
    location, service, [member] = make_setup()
    member.services = []  # no longer serves it
    elsewhere = make_location()
    make_staff(locations=[elsewhere], services=[service])  # serves it, but at another location
    make_staff(locations=[location], services=[])  # at the location, other services
    make_staff(locations=[location], services=[service], active=False)
    db.session.commit()
    assert find_slots(service.key, TUESDAY, TUESDAY, now=NOW) == []


def test_each_time_offered_once_with_all_free_staff(app):
    _, service, members = make_setup(staff_count=3)
    slots = find_slots(service.key, TUESDAY, TUESDAY, now=NOW)
    assert len(slots) == 8
    assert sorted(slots[0].staff_ids) == sorted(member.id for member in members)


def test_location_filter_and_unknown_location(app):
    location, service, _ = make_setup()
    assert {slot.location_key for slot in find_slots(service.key, TUESDAY, TUESDAY, location_key=location.key,
                                                     now=NOW)} == {location.key}
    with pytest.raises(NotFound):
        find_slots(service.key, TUESDAY, TUESDAY, location_key="nowhere", now=NOW)


def test_range_longer_than_62_days_is_invalid(app):
    _, service, _ = make_setup()
    with pytest.raises(Invalid):
        find_slots(service.key, TUESDAY, TUESDAY + timedelta(days=62), now=NOW)


def test_fixed_number_of_queries_for_any_range(app, busy):
    _, service, _members = make_setup(staff_count=4)
    key = service.key  # read before counting (the factories' commit expired the object)

    def count(days: int) -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            find_slots(key, TUESDAY, TUESDAY + timedelta(days=days - 1), now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    assert count(1) == count(28) == count(62)
