"""Race: a citizen confirming a request and staff booking the same room at the same time, each on its
own app and database connection with real commits (SQLite and PostgreSQL): exactly one gets the time."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from citizen_portal.app import create_app
from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.services import public_requests
from tests.fixtures.database import make_test_config
from tests.staff_calendar.spaces.factories import make_site
from tests.staff_calendar.spaces.public.helpers import BERLIN, make_public_room, request_input, series_start

pytestmark = pytest.mark.race
STAFF = 7


def seed(url: str, tmp_path: Path, rounds: int) -> tuple[list[str], list[str]]:
    app = create_app(make_test_config(url, tmp_path))
    with app.app_context():
        make_site(horizon_days=90)  # the dates may lie beyond the turn of the year
        make_public_room()
        tokens = []
        for n in range(STAFF):
            db.session.add(User(username=f"staff{n}", display_name=f"Staff {n}", roles="staff"))
            db.session.commit()
            tokens.append(create_api_token(f"staff{n}", "race"))
        first = series_start(rounds)
        links = [public_requests.submit(request_input(first + timedelta(weeks=n), email=f"r{n}@example.org"),
                                        "de").token for n in range(rounds)]
        db.engine.dispose()
    return tokens, links


def race_round(apps: list, tokens: list[str], link: str, body: dict) -> list[object]:
    """The citizen's confirmation (app 0) and every staff member's booking, released together."""
    barrier = threading.Barrier(STAFF + 1)
    results: list[object] = [None] * (STAFF + 1)

    def citizen() -> None:
        with apps[0].app_context():
            barrier.wait()
            try:
                request, _ = public_requests.verify(link)
                results[0] = request.status
            except Exception as error:  # a busy lock answers Conflict: the citizen lost
                results[0] = error

    def staff(index: int) -> None:
        client = apps[index + 1].test_client()
        barrier.wait()
        response = client.post("/api/v1/room-bookings", json=body, headers={"Authorization": f"Bearer {tokens[index]}"})
        results[index + 1] = response.status_code if response.status_code != 400 else response.get_json()

    threads = [threading.Thread(target=citizen)] + [threading.Thread(target=staff, args=(n,)) for n in range(STAFF)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_public_request_and_staff_bookings_of_the_same_time(fresh_database_url, tmp_path, calendar_calls):
    rounds = 3
    tokens, links = seed(fresh_database_url, tmp_path, rounds)
    first = series_start(rounds)
    apps = [create_app(make_test_config(fresh_database_url, tmp_path)) for _ in range(STAFF + 1)]
    for round_ in range(rounds):
        day = first + timedelta(weeks=round_)
        start = datetime.combine(day, time(18, 30), tzinfo=BERLIN)
        body = {"room": "buergerraum", "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
                "title": "Sitzung"}
        results = race_round(apps, tokens, links[round_], body)
        staff_wins = results[1:].count(201)
        citizen_won = results[0] == "pending"
        assert staff_wins + citizen_won == 1, results
        assert all(status in (201, 409) for status in results[1:]), results
        assert results[0] in ("pending", "declined"), results
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    engine = create_engine(fresh_database_url)
    with engine.connect() as connection:
        held = connection.execute(text("SELECT count(*) FROM room_uses WHERE status = 'held'")).scalar_one()
        booked = connection.execute(text("SELECT count(*) FROM room_bookings")).scalar_one()
    engine.dispose()
    assert held + booked == rounds
