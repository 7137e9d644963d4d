"""Issue 13: a ballot is one short transaction, checked against this process's copy of the poll
(``ballots.voting_poll``); the copy never decides on its own, so what another worker changes in the
poll reaches the very next ballot. Two apps on one database stand for two gunicorn workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from citizen_portal.core import captcha
from citizen_portal.core.extensions import db
from polls.models import Participation, PendingBallot, Poll
from polls.schemas import PollInput, QuestionInput
from polls.services import polls as poll_service
from polls.services.common import now
from tests.factories import two_workers
from tests.polls.factories import answers, close, codes_for, make_poll


@pytest.fixture
def workers(fresh_database_url, tmp_path):
    with two_workers(fresh_database_url, tmp_path) as pair:
        yield pair


def _seed(worker, codes: int, mode: str = "codes") -> tuple[int, list[str], dict]:
    with worker.app_context():
        poll = make_poll(mode=mode)
        return poll.id, codes_for(poll, codes) if codes else [], answers(poll)


def _casting(workers, codes: int, mode: str = "codes"):
    """A poll seeded by the admin worker, and the voter worker's client and ballot URL for it."""
    voter, admin = workers
    poll_id, made, body = _seed(admin, codes, mode)
    return poll_id, made, body, voter.test_client(), f"/api/v1/polls/{poll_id}/ballots"


def _edit(worker, poll_id: int, **changes) -> None:
    """The admin form of ``poll_id`` saved on ``worker`` with ``changes`` (a new revision)."""
    with worker.app_context():
        poll = db.session.get(Poll, poll_id)
        fields = dict(slug=poll.slug, title_de=poll.title["de"], mode=poll.mode,
                      results_visibility=poll.results_visibility, opens_at=poll.opens_at, closes_at=poll.closes_at,
                      published=poll.published, min_ballots_live=poll.min_ballots_live)
        poll_service.update_poll(poll_id, PollInput(**{**fields, **changes}))


def _written(worker, poll_id: int) -> tuple[int, int]:
    """(participation markers, pending ballots) of the poll."""
    with worker.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model).where(model.poll_id == poll_id))
                     for model in (Participation, PendingBallot))


def test_a_ballot_is_one_short_transaction(workers):
    """SQLite: BEGIN IMMEDIATE, the poll row, the marker (from the invitation codes), the pending
    ballot; PostgreSQL: the same three as one statement. One commit, no read before."""
    voter, _admin = workers
    poll_id, codes, body = _seed(voter, 2)
    client = voter.test_client()
    url = f"/api/v1/polls/{poll_id}/ballots"
    assert client.post(url, json={"code": codes[0], "answers": body}).status_code == 201  # the copy is kept
    with voter.app_context():
        engine = db.engine
    statements: list[str] = []
    commits: list[bool] = []

    def statement(_conn, _cursor, sql, _params, _context, _many):
        statements.append(sql)

    def commit(_conn):
        commits.append(True)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        response = client.post(url, json={"code": codes[1], "answers": body})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    assert response.status_code == 201 and len(commits) == 1
    sql = [s for s in statements if not s.startswith("BEGIN")]  # SQLite's BEGIN IMMEDIATE
    if engine.dialect.name == "postgresql":
        assert len(sql) == 1 and sql[0].startswith("WITH "), statements
        for part in ("INSERT INTO poll_participations", "FROM poll_invitation_codes",
                     "INSERT INTO poll_pending_ballots", "SELECT polls.revision", "FOR SHARE"):
            assert part in sql[0]
    else:
        assert len(sql) == 3, statements
        assert sql[0].startswith("SELECT polls.revision") and "FROM poll_invitation_codes" in sql[1]
        assert sql[1].startswith("INSERT INTO poll_participations")
        assert sql[2].startswith("INSERT INTO poll_pending_ballots")
    assert _written(voter, poll_id) == (2, 2)


def test_a_closed_poll_answers_closed_also_for_a_used_code(workers):
    _voter, admin = workers
    poll_id, [code], body, client, url = _casting(workers, 1)
    assert client.post(url, json={"code": code, "answers": body}).status_code == 201
    used = client.post(url, json={"code": code, "answers": body})
    assert used.status_code == 409 and used.json["error"] == "already_voted"
    with admin.app_context():
        close(db.session.get(Poll, poll_id))
    closed = client.post(url, json={"code": code, "answers": body})
    assert closed.status_code == 409 and closed.json["error"] == "poll_closed"
    assert _written(admin, poll_id) == (1, 1)


def test_a_code_of_another_poll_is_refused_and_nothing_is_written(workers):
    voter, _admin = workers
    poll_id, [code], body = _seed(voter, 1)
    other_id, _codes, other_body = _seed(voter, 1)
    client = voter.test_client()
    refused = client.post(f"/api/v1/polls/{other_id}/ballots", json={"code": code, "answers": other_body})
    assert refused.status_code == 400 and set(refused.json["fields"]) == {"code"}
    assert _written(voter, other_id) == (0, 0)
    assert client.post(f"/api/v1/polls/{poll_id}/ballots", json={"code": code, "answers": body}).status_code == 201
    used = client.post(f"/api/v1/polls/{poll_id}/ballots", json={"code": code, "answers": body})
    assert used.status_code == 409 and used.json["error"] == "already_voted"
    assert _written(voter, poll_id) == (1, 1)


def test_another_workers_changes_reach_the_next_ballot(workers):
    _voter, admin = workers
    poll_id, codes, body, client, url = _casting(workers, 4)
    assert client.post(url, json={"code": codes[0], "answers": {}}).status_code == 400  # the voter's copy is kept
    with admin.app_context():
        added = poll_service.add_question(poll_id, QuestionInput(kind="rating", text_de="Neu", required=True)).id
    refused = client.post(url, json={"code": codes[0], "answers": body})
    assert refused.status_code == 400 and set(refused.json["fields"]) == {f"q{added}"}
    assert _written(admin, poll_id) == (0, 0)
    body = {**body, str(added): 3}
    assert client.post(url, json={"code": codes[0], "answers": body}).status_code == 201

    _edit(admin, poll_id, slug="neuer-name")
    cast = client.post(url, json={"code": codes[1], "answers": body})
    assert cast.status_code == 201 and cast.json["check_url"].endswith("/beteiligung/neuer-name/quittung")

    with admin.app_context():  # changed behind the revision: the status columns are read with each ballot
        close(db.session.get(Poll, poll_id))
    closed = client.post(url, json={"code": codes[2], "answers": body})
    assert closed.status_code == 409 and closed.json["error"] == "poll_closed"
    with admin.app_context():
        poll = db.session.get(Poll, poll_id)
        poll.closes_at, poll.published = now() + timedelta(days=1), False
        db.session.commit()
    assert client.post(url, json={"code": codes[2], "answers": body}).status_code == 404
    _edit(admin, poll_id, published=True)
    assert client.post(url, json={"code": codes[2], "answers": body}).status_code == 201
    assert _written(admin, poll_id) == (3, 3)


def test_a_new_participation_mode_decides_the_next_ballot(workers):
    voter, admin = workers
    poll_id, [code], body, client, url = _casting(workers, 1)
    assert client.post(url, json={"code": code, "answers": {}}).status_code == 400  # the voter's copy: codes
    _edit(admin, poll_id, mode="email")
    as_link = client.post(url, json={"code": code, "answers": body})  # now read as a link's token
    assert as_link.status_code == 409 and as_link.json["error"] == "link_invalid"
    _edit(admin, poll_id, mode="open")
    voter.config["CAPTCHA"] = "on"
    refused = client.post(url, json={"code": code, "answers": body})
    assert refused.status_code == 400 and set(refused.json["fields"]) == {"altcha"}
    solved = captcha.solve_for_tests(client.get("/api/v1/captcha/challenge").json)
    assert client.post(url, json={"altcha": solved, "answers": body}).status_code == 201
    assert _written(admin, poll_id) == (0, 1)


def test_the_captcha_is_verified_once_when_the_ballot_is_checked_again(workers):
    """The voter's copy is of an older revision: the ballot is checked against it, then (the poll row
    has another revision) again against the poll read now; the captcha payload, single-use, was
    verified in the first round and is not asked for again."""
    voter, admin = workers
    poll_id, _codes, body, client, url = _casting(workers, 0, mode="open")
    voter.config["CAPTCHA"] = "on"
    assert client.post(url, json={"answers": body}).status_code == 400  # no captcha; the copy is kept
    _edit(admin, poll_id, title_de="Neuer Titel")
    solved = captcha.solve_for_tests(client.get("/api/v1/captcha/challenge").json)
    assert client.post(url, json={"altcha": solved, "answers": body}).status_code == 201
    again = client.post(url, json={"altcha": solved, "answers": body})
    assert again.status_code == 400 and set(again.json["fields"]) == {"altcha"}
    assert _written(admin, poll_id) == (0, 1)
