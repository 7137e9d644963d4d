"""``GET /api/v1/desks`` with a bearer token served by two workers on one database (issue 13): the
token and the desk answer are read cheaply (``core.quick_reads``; on PostgreSQL not at all while no
change notice arrived), and still a desk booking, a revoked token or a deactivated person committed by
the other worker is seen by the very next request (SQLite) or once its notice has arrived
(PostgreSQL, well under a millisecond on one machine)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from citizen_portal.core import api_tokens, change_notices, quick_reads
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.services import desks
from staff_calendar.spaces.services.common import Actor
from tests.factories import make_user, two_workers
from tests.fixtures.patience import wait_until
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_site, open_day


def _seen(database_url: str, condition: Callable[[], bool], what: str) -> None:
    """SQLite: the next request sees it; PostgreSQL: once the change notice has arrived."""
    if not database_url.startswith("sqlite"):
        wait_until(condition, what)
    else:
        assert condition(), what


def _setup(worker) -> tuple[str, Actor, Actor]:
    with worker.app_context():
        make_site()
        make_desk(make_floor("f1"), "d1")
        caller, other = make_user("anna"), make_user("ben")
        db.session.commit()
        actors = Actor.of(caller), Actor.of(other)
        listener = change_notices.listener(db.engine)
        if listener is not None:
            wait_until(lambda: listener.state(api_tokens.NOTICE_CHANNEL)[0], "the listener to listen")
    with worker.app_context():
        token = api_tokens.create_api_token("anna", "script")
    return token, *actors


def test_a_desk_booking_of_the_other_worker_is_in_the_next_answer(fresh_database_url, tmp_path):
    day = open_day(2)
    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        token, _anna, ben = _setup(worker_a)
        client = worker_a.test_client()

        def morning(desk: str = "d1") -> tuple[bool, bool]:
            response = client.get(f"/api/v1/desks?date={day}&floor=f1", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.get_data(as_text=True)
            [entry] = [item for item in response.json["desks"] if item["key"] == desk]
            return entry["free"]["morning"], entry["bookable"]["morning"]

        assert morning() == (True, True)
        assert morning() == (True, True)  # the cached answer
        with worker_b.app_context():
            desks.book_desk(ben, "d1", day, "morning")
            db.session.remove()
        _seen(fresh_database_url, lambda: morning() == (False, False), "the other worker's booking")
        with worker_b.app_context():
            desks.cancel_desk_booking(ben, desks.my_desk_bookings(ben, day, day)[0].id, "morning")
            db.session.remove()
        _seen(fresh_database_url, lambda: morning() == (True, True), "the other worker's cancellation")


def test_a_token_revoked_or_a_person_deactivated_by_the_other_worker_is_refused(fresh_database_url, tmp_path,
                                                                                 monkeypatch):
    day = open_day(2)
    token_reads: list[str] = []
    real = quick_reads.autocommit_row
    monkeypatch.setattr(quick_reads, "autocommit_row", lambda *args: (token_reads.append(args[1])
                                                                      if "api_tokens" in args[1] else None)
                        or real(*args))
    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        token, _anna, _ben = _setup(worker_a)
        second = None
        with worker_b.app_context():
            second = api_tokens.create_api_token("anna", "second")
        client = worker_a.test_client()

        def status(bearer: str) -> int:
            return client.get(f"/api/v1/desks?date={day}", headers={"Authorization": f"Bearer {bearer}"}).status_code

        assert status(token) == status(second) == 200
        reads = len(token_reads)
        for _ in range(3):
            assert status(token) == 200
        if not fresh_database_url.startswith("sqlite"):
            assert len(token_reads) == reads  # no notice: the token is not read again
        else:
            assert len(token_reads) == reads + 3  # one quick read per request
        with worker_b.app_context():
            [row] = [row for row in api_tokens.list_api_tokens("anna") if row.name == "script"]
            api_tokens.revoke_api_token(row.id)
            db.session.remove()
        _seen(fresh_database_url, lambda: status(token) == 401, "the revocation by the other worker")
        assert status(second) == 200  # the person's other token still works
        with worker_a.app_context():
            third = api_tokens.create_api_token("anna", "third")
        assert status(third) == 200
        with worker_a.app_context():
            [row] = [row for row in api_tokens.list_api_tokens("anna") if row.name == "third"]
            api_tokens.revoke_api_token(row.id)
            db.session.remove()
        assert status(third) == 401  # revoked by this worker: refused at once, without waiting for a notice
        with worker_b.app_context():
            db.session.execute(update(User).where(User.username == "anna").values(active=False))
            db.session.commit()
        _seen(fresh_database_url, lambda: status(second) == 401, "the deactivation by the other worker")


@pytest.mark.postgresql_only
def test_recording_a_use_sends_no_notice_but_a_change_of_a_person_does(fresh_database_url, tmp_path):
    with two_workers(fresh_database_url, tmp_path) as (worker_a, worker_b):
        token, _anna, _ben = _setup(worker_a)
        with worker_a.app_context():
            listener = change_notices.listener(db.engine)
            before = listener.generation
            assert api_tokens.user_for_token(token) is not None  # the first use writes last_used_at
            db.session.remove()
        with worker_b.app_context():
            db.session.execute(update(User).where(User.username == "ben").values(display_name="Ben B."))
            db.session.commit()
        # notices arrive in commit order: once the person's has arrived, a notice of the use would have too
        wait_until(lambda: listener.generation > before, "the notice of the person's change")
        assert listener.generation == before + 1
