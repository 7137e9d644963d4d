"""Race test (issue 4 item 9): 30 concurrent bookings of one slot through gunicorn with 4 workers
on real connections and real commits: exactly one 201, every other answer a 409 ``slot_taken``
carrying alternatives. And (issue 18.2) concurrent holds from one client address: exactly
``BOOKING_HOLDS_PER_CLIENT`` win. Runs on the suite's database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select

from citizen_portal.booking.models import Appointment, SlotClaim
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import ALL_WEEK, make_setup
from tests.factories import build_app, not_a_holiday
from tests.fixtures.gunicorn import gunicorn_instance
from tests.fixtures.patience import patience

CLIENTS = 30


def seed(database_url: str, instance: Path, **service_kw) -> tuple[str, str, datetime]:
    app = build_app(database_url, instance)
    with app.app_context():
        location, service, _ = make_setup(1, opening_hours=dict(ALL_WEEK), holidays=None, service_kw=service_kw)
        keys = (service.key, location.key)
        db.session.commit()
        db.engine.dispose()
    day = not_a_holiday(datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=7))
    start = datetime.combine(day, time(9, 0), tzinfo=ZoneInfo("Europe/Berlin"))
    return keys[0], keys[1], start


@pytest.fixture
def gunicorn_server(fresh_database_url, tmp_path, request):
    """gunicorn (4 workers) on a seeded database; ``indirect`` parameters: ``{"service": {...},
    "env": {"PORTAL_<KEY>": value}}``."""
    options = getattr(request, "param", {})
    instance = tmp_path / "instance"
    instance.mkdir()
    service, location, start = seed(fresh_database_url, instance, **options.get("service", {}))
    settings = {key.removeprefix("PORTAL_"): value for key, value in options.get("env", {}).items()}
    with gunicorn_instance(fresh_database_url, instance, workers=4, RATELIMIT_ENABLED="false", **settings) as url:
        yield url, service, location, start, fresh_database_url, instance


def test_thirty_concurrent_bookings_of_one_slot(gunicorn_server):
    url, service, location, start, database_url, instance = gunicorn_server
    answers = _book_all_at_once(url, [
        {"service": service, "location": location, "start": start.isoformat(),
         "name": f"Bürger {index}", "email": f"buerger{index}@example.org", "privacy_consent": True}
        for index in range(CLIENTS)])

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (CLIENTS - 1), statuses
    for status, body in answers:
        if status == 409:
            assert body["error"] == "slot_taken"
            assert body["alternatives"], body
            assert all(alt["start"] != start.isoformat() for alt in body["alternatives"])
    winner = next(body for status, body in answers if status == 201)
    assert winner["status"] == "confirmed" and winner["manage_token"]

    app = build_app(database_url, instance)
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
        assert db.session.scalar(select(func.count(SlotClaim.id))) == 1
        db.engine.dispose()


@pytest.mark.parametrize("gunicorn_server", [{"service": {"email_confirmation": True, "max_active_per_email": 5},
                                              "env": {"PORTAL_BOOKING_HOLDS_PER_CLIENT": "3"}}], indirect=True)
def test_concurrent_holds_of_one_client_stop_at_the_limit(gunicorn_server):
    """Issue 18.2: 8 holds of 8 different times sent at once from one address, with 8 addresses:
    the client limit is counted in the database under its lock, so exactly 3 win in any process."""
    url, service, location, start, database_url, instance = gunicorn_server
    clients = 8
    answers = _book_all_at_once(url, [
        {"service": service, "location": location,
         "start": (start.replace(hour=8) + timedelta(minutes=30 * index)).isoformat(),  # 08:00 … 11:30
         "name": f"Bot {index}", "email": f"bot{index}@example.org", "privacy_consent": True}
        for index in range(clients)])

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * 3 + [409] * (clients - 3), answers
    assert {body["error"] for status, body in answers if status == 409} == {"hold_limit"}
    app = build_app(database_url, instance)
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 3
        db.engine.dispose()


def _book_all_at_once(url: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """POST every body to the booking API from its own thread, released together; (status, JSON) per body."""
    barrier = threading.Barrier(len(bodies))
    answers: list[tuple[int, dict]] = [None] * len(bodies)  # type: ignore[list-item]

    def client(index: int) -> None:
        barrier.wait()
        response = requests.post(f"{url}/api/v1/appointments", json=bodies[index], timeout=patience(60))
        answers[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
