"""Race tests: many concurrent bookings on real, separate database connections; exactly one wins.

Each thread has its own app (own engine, own connection pool) on one fresh migrated database
with real commits, and goes through the JSON API with its own bearer token. Runs on SQLite
(BEGIN IMMEDIATE + unique constraint) and PostgreSQL (advisory locks + unique/exclusion constraints).
"""

from __future__ import annotations

import threading
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from citizen_portal.app import create_app
from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.models import DeskBooking, RoomBooking
from tests.fixtures.database import make_test_config
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room, make_site, open_day

pytestmark = pytest.mark.race
WORKERS = 20
BERLIN = ZoneInfo("Europe/Berlin")


def seed(url: str, tmp_path: Path) -> list[str]:
    app = create_app(make_test_config(url, tmp_path))
    tokens = []
    with app.app_context():
        make_site()
        floor = make_floor("f1")
        make_desk(floor, "d1")
        make_room(floor, "r1", capacity=10)
        for n in range(WORKERS):
            user = User(username=f"racer{n}", display_name=f"Racer {n}", roles="staff")
            db.session.add(user)
            db.session.commit()
            tokens.append(create_api_token(user.username, "race"))
        db.session.commit()
        db.engine.dispose()
    return tokens


def run_concurrently(url: str, tmp_path: Path, tokens: list[str], path: str, bodies: list[dict]) -> list[int]:
    apps = [create_app(make_test_config(url, tmp_path)) for _ in tokens]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = [0] * len(tokens)

    def worker(index: int) -> None:
        client = apps[index].test_client()
        barrier.wait()
        response = client.post(path, json=bodies[index], headers={"Authorization": f"Bearer {tokens[index]}"})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    return statuses


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return value


def test_twenty_concurrent_bookings_of_one_desk_half_day(fresh_database_url, tmp_path, calendar_calls):
    tokens = seed(fresh_database_url, tmp_path)
    day = open_day(1).isoformat()
    bodies = [{"desk": "d1", "date": day, "part": "morning"}] * WORKERS
    statuses = run_concurrently(fresh_database_url, tmp_path, tokens, "/api/v1/desk-bookings", bodies)
    assert sorted(statuses) == [201] + [409] * (WORKERS - 1), statuses
    assert count(fresh_database_url, "desk_bookings") == 1


def test_concurrent_overlapping_room_ranges(fresh_database_url, tmp_path, calendar_calls):
    tokens = seed(fresh_database_url, tmp_path)
    day = open_day(1)
    bodies = []
    for n in range(WORKERS):  # all overlap 10:00-10:15; starts and ends differ
        start = datetime.combine(day, time(9 + (n % 2), 0 if n % 2 else 15 * (n % 4)), tzinfo=BERLIN)
        end = datetime.combine(day, time(10, 15 + 15 * (n % 3)), tzinfo=BERLIN)
        bodies.append({"room": "r1", "start": start.isoformat(), "end": end.isoformat(), "title": f"Meeting {n}"})
    statuses = run_concurrently(fresh_database_url, tmp_path, tokens, "/api/v1/room-bookings", bodies)
    assert sorted(statuses) == [201] + [409] * (WORKERS - 1), statuses
    assert count(fresh_database_url, "room_bookings") == 1


def test_database_constraints_stand_without_the_services(app):
    """The constraints alone refuse double bookings (PostgreSQL: exclusion on room ranges)."""
    make_site()
    floor = make_floor("f9")
    desk = make_desk(floor, "d9")
    room = make_room(floor, "r9")
    users = []
    for n in range(2):
        user = User(username=f"c{n}", display_name="C", roles="staff")
        db.session.add(user)
        users.append(user)
    db.session.commit()
    day = open_day(1)
    db.session.add(DeskBooking(desk_id=desk.id, user_id=users[0].id, day=day, half="morning", group_uid="a"))
    db.session.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(DeskBooking(desk_id=desk.id, user_id=users[1].id, day=day, half="morning", group_uid="b"))
        db.session.commit()
    if db.engine.dialect.name != "postgresql":
        return
    start = datetime.combine(day, time(9), tzinfo=BERLIN)
    db.session.add(RoomBooking(room_id=room.id, user_id=users[0].id, start_at=start,
                               end_at=start.replace(hour=10), title="a", uid="u1"))
    db.session.commit()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(RoomBooking(room_id=room.id, user_id=users[1].id, start_at=start.replace(minute=30),
                                   end_at=start.replace(hour=11), title="b", uid="u2"))
        db.session.commit()


def test_series_and_single_booking_of_one_desk_day_take_the_same_lock(fresh_database_url, tmp_path, calendar_calls,
                                                                       monkeypatch):
    """A single booking holds the day (inserted, not yet committed) while a series of another person
    reaches the same desk and day: the series must wait for it and report that day as taken, book its
    other days, and never fail. Before the series took the per-desk-day locks it went ahead on
    PostgreSQL, ran into the unique constraint and broke its whole transaction."""
    from staff_calendar.spaces.services import desks
    from staff_calendar.spaces.services.common import Actor

    seed(fresh_database_url, tmp_path)
    day = open_day(1)
    single_app, series_app = (create_app(make_test_config(fresh_database_url, tmp_path)) for _ in range(2))
    inserted, release = threading.Event(), threading.Event()
    real_queue_event = desks.queue_event

    def queue_event_then_hold(*args, **kwargs):
        real_queue_event(*args, **kwargs)
        if threading.current_thread().name == "single":
            inserted.set()  # the single booking's row is written, its transaction still open
            release.wait(timeout=30)

    monkeypatch.setattr(desks, "queue_event", queue_event_then_hold)
    outcome: dict[str, object] = {}

    def actor(username: str) -> Actor:
        return Actor.of(db.session.query(User).filter_by(username=username).one())

    def single() -> None:
        with single_app.app_context():
            try:
                outcome["single"] = len(desks.book_desk(actor("racer0"), "d1", day, "morning"))
            except Exception as error:
                outcome["single"] = error

    def series() -> None:
        with series_app.app_context():
            try:
                outcome["series"] = desks.book_desk_series(actor("racer1"), "d1", "day",
                                                           (day.weekday(),), day, 2)
            except Exception as error:
                outcome["series"] = error

    single_thread = threading.Thread(target=single, name="single")
    single_thread.start()
    assert inserted.wait(timeout=30)
    series_thread = threading.Thread(target=series, name="series")
    series_thread.start()
    series_thread.join(timeout=1.5)  # the series now waits for the single booking (or, before, ran into it)
    release.set()
    single_thread.join(timeout=60)
    series_thread.join(timeout=60)
    for app in (single_app, series_app):
        with app.app_context():
            db.engine.dispose()

    assert outcome["single"] == 1, outcome
    results = outcome["series"]
    assert isinstance(results, list), results
    first = next(result for result in results if result.day == day)
    assert not first.booked and first.reason
    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT day, half FROM desk_bookings ORDER BY day, half")).all()
    engine.dispose()
    taken = [(str(row_day)[:10], half) for row_day, half in rows if str(row_day)[:10] == day.isoformat()]
    assert taken == [(day.isoformat(), "morning")]
    booked_later = [result.day for result in results if result.booked]
    assert len(rows) == 1 + 2 * len(booked_later)
