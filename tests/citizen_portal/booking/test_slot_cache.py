"""The slot cache (``booking/services/cache.py``): every change of a slot input is visible on the
very next slots request, whichever process made it; time-dependent rules (hold expiry, the
cancelled-slot delay, lead time) apply without any write; a hit costs one small statement."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from citizen_portal.booking.models import Appointment, SlotVersion, StaffDayVersion
from citizen_portal.booking.schemas import LocationHours
from citizen_portal.booking.services import BookingRequest, admin, book, cancel, expire_holds, find_slots
from citizen_portal.booking.services.cache import slot_cache
from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import parse
from staff_calendar.calendars.models import BusyInterval, CalendarLink
from tests.citizen_portal.booking.factories import contact, make_setup
from tests.factories import stamp_mirror, two_workers
from tests.fixtures.patience import wait_until

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 07:00 local
TUESDAY = date(2026, 3, 3)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def starts(slots) -> list[str]:
    return [slot.start.astimezone(BERLIN).strftime("%H:%M") for slot in slots]


def tuesday(service, now=NOW) -> list[str]:
    return starts(find_slots(service.key, TUESDAY, TUESDAY, now=now))


ALL = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def request_for(service, location, start, email="erika@example.org") -> BookingRequest:
    return BookingRequest(service_key=service.key, location_key=location.key, start=start,
                          contact=contact("Erika", email))


@pytest.fixture
def counted(app):
    """Statements run on the engine (a list, cleared by the test)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.session.get_bind()
    engine = getattr(engine, "engine", engine)
    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)


def test_a_hit_costs_one_small_statement_and_gives_the_same_slots(app, counted):
    _location, service, [member] = make_setup()
    db.session.add(CalendarLink(key="staff:c", owner_kind="staff", owner_key="c", url="http://127.0.0.1:9/"))
    db.session.commit()
    member.calendar_key = "staff:c"
    stamp_mirror("staff:c", NOW - timedelta(minutes=1))
    first = find_slots(service.key, TUESDAY, TUESDAY, now=NOW)
    counted.clear()
    second = find_slots(service.key, TUESDAY, TUESDAY, now=NOW + timedelta(seconds=5))
    assert second == first and starts(second) == ALL
    assert len(counted) == 1, counted  # the input version and the mirror version, together
    assert slot_cache().hits >= 1


def test_a_new_booking_is_visible_on_the_next_request(app):
    location, service, _ = make_setup()
    assert tuesday(service) == ALL
    book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    assert tuesday(service) == [t for t in ALL if t != "09:00"]


def test_a_cancellation_frees_the_slot_after_the_delay_without_any_write(app):
    location, service, _ = make_setup(site_kw={"cancelled_slot_delay_minutes": 60})
    result = book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    assert "09:00" not in tuesday(service)
    cancel(result.appointment.code, result.manage_token, now=NOW)
    assert "09:00" not in tuesday(service, NOW + timedelta(minutes=1))  # the delay against slot trading
    assert "09:00" in tuesday(service, NOW + timedelta(minutes=60))  # released: no write in between


def test_a_cancellation_without_delay_is_visible_on_the_next_request(app):
    location, service, _ = make_setup(site_kw={"cancelled_slot_delay_minutes": 0})
    result = book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    assert "09:00" not in tuesday(service)
    cancel(result.appointment.code, result.manage_token, now=NOW)
    assert tuesday(service) == ALL


def test_a_hold_frees_the_slot_when_it_runs_out_without_any_write(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True}, site_kw={"hold_minutes": 15})
    result = book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    assert result.appointment.hold_expires_at == NOW + timedelta(minutes=15)
    assert "09:00" not in tuesday(service, NOW + timedelta(minutes=14, seconds=59))
    assert "09:00" in tuesday(service, NOW + timedelta(minutes=15))


def test_expired_holds_job_is_visible_on_the_next_request(app):
    location, service, _ = make_setup(service_kw={"email_confirmation": True}, site_kw={"hold_minutes": 15})
    book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    later = NOW + timedelta(minutes=20)
    assert tuesday(service, later) == ALL
    assert expire_holds(now=later) == 1
    assert tuesday(service, later) == ALL


def _stamp(key: str, moment: datetime) -> None:
    """What ``mirror.sync_calendar`` does in the transaction that writes busy time."""
    stamp_mirror(key, moment)


def test_a_mirror_change_is_visible_on_the_next_request(app):
    _location, service, [member] = make_setup()
    db.session.add(CalendarLink(key="staff:m", owner_kind="staff", owner_key="m", url="http://127.0.0.1:9/"))
    db.session.commit()
    member.calendar_key = "staff:m"
    db.session.commit()
    _stamp("staff:m", NOW - timedelta(minutes=5))
    assert tuesday(service) == ALL
    busy = BusyInterval(calendar_key="staff:m", href="/e/1.ics", start=local(TUESDAY, 10), end=local(TUESDAY, 11))
    db.session.add(busy)
    _stamp("staff:m", NOW - timedelta(minutes=4))
    assert tuesday(service) == ["08:00", "08:30", "09:00", "09:30", "11:00", "11:30"]
    busy.end = local(TUESDAY, 10, 30)
    _stamp("staff:m", NOW - timedelta(minutes=3))
    assert tuesday(service) == ["08:00", "08:30", "09:00", "09:30", "10:30", "11:00", "11:30"]
    db.session.delete(busy)
    _stamp("staff:m", NOW - timedelta(minutes=2))
    assert tuesday(service) == ALL


@pytest.mark.caldav
def test_a_synced_remote_event_is_visible_on_the_next_request(app, caldav_server, monkeypatch):
    """End to end: an event put on the CalDAV server, mirrored by ``sync_calendar``."""
    import icalendar

    from staff_calendar.calendars import mirror
    from tests.fixtures.caldav_servers import link_calendar, put_remote_event

    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Berlin")
    _location, service, [member] = make_setup()
    link, remote = link_calendar(caldav_server)
    member.calendar_key = link.key
    db.session.commit()
    assert mirror.sync_calendar(link.key, now=NOW).ok
    assert tuesday(service) == ALL
    assert tuesday(service) == ALL  # from the cache
    put_remote_event(remote.calendar, icalendar.Event.new(
        uid="termin@x.example", summary="Besprechung", start=local(TUESDAY, 9), end=local(TUESDAY, 10)))
    assert mirror.sync_calendar(link.key, now=NOW).ok
    assert tuesday(service) == ["08:00", "08:30", "10:00", "10:30", "11:00", "11:30"]


def test_an_admin_change_of_opening_hours_is_visible_on_the_next_request(app):
    location, service, _ = make_setup()
    assert tuesday(service) == ALL
    hours = {f"hours.{day}": times for day, times in dict(location.opening_hours, tue=["10:00-12:00"]).items()}
    admin.update_location_hours(location.key, parse(LocationHours, hours))
    assert tuesday(service) == ["10:00", "10:30", "11:00", "11:30"]
    admin.update_location_hours(location.key, parse(LocationHours, {**hours, "closures": [TUESDAY.isoformat()]}))
    assert tuesday(service) == []


def test_staff_working_hours_and_plain_sql_changes_are_visible(app):
    _location, service, [member] = make_setup()
    assert tuesday(service) == ALL
    member.working_hours = {"tue": ["08:00-09:00"]}
    db.session.commit()
    assert tuesday(service) == ["08:00", "08:30"]
    db.session.execute(text("UPDATE staff_members SET active = :no WHERE id = :id"), {"no": False, "id": member.id})
    assert tuesday(service) == []


def test_lead_time_passing_the_first_slot_drops_it_without_any_write(app):
    _location, service, _ = make_setup(service_kw={"min_lead_hours": 2})
    now = local(TUESDAY, 6)
    assert tuesday(service, now) == ALL
    assert tuesday(service, local(TUESDAY, 6, 1)) == ALL[1:]


def test_every_write_replaces_the_version_token(app):
    location, _service, _ = make_setup()
    before = db.session.scalar(select(SlotVersion.token))
    location.closures = ["2026-12-24"]
    db.session.commit()
    after = db.session.scalar(select(SlotVersion.token))
    assert before and after and before != after


def test_a_booking_in_another_process_is_visible_at_once(fresh_database_url, tmp_path):
    """Two apps (= two gunicorn workers, each with its own cache) on one database, real commits."""
    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        with worker_a.app_context():
            location, service, _ = make_setup()
            keys = (service.key, location.key)
            db.session.commit()
            assert starts(find_slots(keys[0], TUESDAY, TUESDAY, now=NOW)) == ALL
            assert starts(find_slots(keys[0], TUESDAY, TUESDAY, now=NOW)) == ALL  # cached now
            assert slot_cache().hits == 1
            db.session.remove()
        with worker_b.app_context():
            request = BookingRequest(service_key=keys[0], location_key=keys[1], start=local(TUESDAY, 9),
                                     contact=contact("Erika"))
            result = book(request, now=NOW)
            assert db.session.get(Appointment, result.appointment.id) is not None
            db.session.remove()
        with worker_a.app_context():
            # SQLite: at once; PostgreSQL: once the change notice has arrived (core/change_notices.py)
            wait_until(lambda: "09:00" not in starts(find_slots(keys[0], TUESDAY, TUESDAY, now=NOW)),
                       "the booking of the other process")


def test_a_booking_invalidates_only_answers_covering_its_staff_member_and_day(app):
    """Issue 13: a booking raises the version of its (staff member, UTC day) only: the cached
    answer of another day stays valid (a hit), the one of the booked day is recomputed."""
    location, service, [member] = make_setup()
    wednesday = TUESDAY + timedelta(days=1)
    assert tuesday(service) == ALL
    wednesday_slots = find_slots(service.key, wednesday, wednesday, now=NOW)
    hits = slot_cache().hits
    book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
    assert find_slots(service.key, wednesday, wednesday, now=NOW) == wednesday_slots
    assert slot_cache().hits == hits + 1
    assert tuesday(service) == [start for start in ALL if start != "09:00"]
    assert slot_cache().hits == hits + 1  # recomputed
    versions = db.session.execute(select(StaffDayVersion.staff_id, StaffDayVersion.day)).all()
    assert versions == [(member.id, TUESDAY)]
    assert db.session.scalar(select(SlotVersion.token)) is not None


def test_staff_day_versions_grow_with_every_change_of_an_appointment(app):
    """Insert, update (old and new day) and delete each raise the versions, so their sum changes."""
    location, service, _staff = make_setup()
    result = book(request_for(service, location, local(TUESDAY, 9)), now=NOW)

    def versions() -> dict:
        return dict(db.session.execute(select(StaffDayVersion.day, StaffDayVersion.version)).all())

    first = versions()
    appointment = db.session.get(Appointment, result.appointment.id)
    appointment.start_at = local(TUESDAY + timedelta(days=1), 9)
    appointment.end_at = appointment.start_at + timedelta(minutes=25)
    appointment.blocked_until = appointment.start_at + timedelta(minutes=30)
    db.session.commit()
    moved = versions()
    assert moved[TUESDAY] > first[TUESDAY] and TUESDAY + timedelta(days=1) in moved
    db.session.execute(text("DELETE FROM appointment_slot_claims"))
    db.session.execute(text("DELETE FROM appointments"))
    db.session.commit()
    assert versions()[TUESDAY + timedelta(days=1)] > moved[TUESDAY + timedelta(days=1)]


@pytest.mark.postgresql_only
def test_appointment_writes_of_two_staff_members_do_not_wait_for_each_other(fresh_database_url, tmp_path):
    """Issue 13: on PostgreSQL an appointment's transaction used to hold the one version row until
    its commit, so every other booking waited; now each writes its own (staff member, day) row.
    (SQLite has one writer at a time anyway.)"""
    from tests.factories import build_app

    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        location, service, staff = make_setup(2)
        db.session.commit()
        first = book(request_for(service, location, local(TUESDAY, 9)), now=NOW)
        second = book(request_for(service, location, local(TUESDAY, 9), "b@example.org"), now=NOW)
        assert {first.appointment.staff_id, second.appointment.staff_id} == {member.id for member in staff}
        ids = (first.appointment.id, second.appointment.id)
        db.session.remove()
        update = text("UPDATE appointments SET language = 'en' WHERE id = :id")
        with db.engine.connect() as one, db.engine.connect() as other:
            assert one.execute(update, {"id": ids[0]}).rowcount == 1  # its transaction stays open
            other.execute(text("SET lock_timeout = '2s'"))
            assert other.execute(update, {"id": ids[1]}).rowcount == 1  # before: waited for the version row
            other.commit()
            one.commit()
        assert list(db.session.scalars(select(Appointment.language).where(Appointment.id.in_(ids)))) == ["en", "en"]
        db.session.remove()
        db.engine.dispose()
