"""Concurrency on real connections (each thread its own request, app context and DB connection):
300 concurrent ballots are counted exactly, and one code cast by 20 concurrent requests wins once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from citizen_portal.core.extensions import db
from polls.models import Poll
from polls.services import ballot_batches, results
from tests.factories import build_app
from tests.polls.factories import answers, close, codes_for, count_ballots, make_poll

pytestmark = pytest.mark.race


@pytest.fixture
def race_app(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 20},
                    REQUEST_LOG=False)
    yield app
    with app.app_context():
        db.engine.dispose()


def _seed(app, count: int):
    with app.app_context():
        poll = make_poll()
        codes = codes_for(poll, count)
        body = answers(poll, single=1, multiple=(0, 2), rating=5, text=None)
        return poll.id, codes, body


def _post(app, url: str, payload: dict) -> int:
    with app.test_client() as client:
        return client.post(url, json=payload).status_code


def test_300_concurrent_ballots_are_counted_exactly(race_app):
    poll_id, codes, body = _seed(race_app, 300)
    url = f"/api/v1/polls/{poll_id}/ballots"
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(lambda code: _post(race_app, url, {"code": code, "answers": body}), codes))
    assert statuses.count(201) == 300, {s: statuses.count(s) for s in set(statuses)}
    with race_app.app_context():
        assert count_ballots(poll_id) == 300
        data = results.poll_results(poll_id)
        assert data.ballots == 300
        single, multiple, rating, _text = data.questions
        assert [o.votes for o in single.options] == [0, 300, 0]
        assert [o.votes for o in multiple.options] == [300, 0, 300]
        assert rating.average == 5.0 and single.answered == 300
        assert results.recount(poll_id) == {}


def test_one_code_twenty_concurrent_requests_one_ballot(race_app):
    poll_id, [code], body = _seed(race_app, 1)
    url = f"/api/v1/polls/{poll_id}/ballots"
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: _post(race_app, url, {"code": code, "answers": body}), range(20)))
    assert statuses.count(201) == 1 and statuses.count(409) == 19, statuses
    with race_app.app_context():
        assert count_ballots(poll_id) == 1
        assert results.poll_results(poll_id).ballots == 1
        assert results.recount(poll_id) == {}


def test_question_edit_racing_ballots_never_interleaves(race_app):
    """Either the edit wins (no ballot was counted: every ballot then lacks the new required answer)
    or a ballot wins (the edit is refused as frozen); never both."""
    from polls.schemas import QuestionInput
    from polls.services import polls as poll_service

    poll_id, codes, body = _seed(race_app, 40)
    url = f"/api/v1/polls/{poll_id}/ballots"

    def edit() -> str:
        with race_app.app_context():
            try:
                poll_service.add_question(poll_id, QuestionInput(kind="rating", text_de="Nachzügler", required=True))
            except Exception as exc:
                return getattr(exc, "code", repr(exc))
            return "added"

    with ThreadPoolExecutor(max_workers=21) as pool:
        futures = [pool.submit(_post, race_app, url, {"code": code, "answers": body}) for code in codes[:20]]
        edit_result = pool.submit(edit)
        futures += [pool.submit(_post, race_app, url, {"code": code, "answers": body}) for code in codes[20:]]
        statuses = [f.result() for f in futures]
    counted = statuses.count(201)
    if edit_result.result() == "added":
        assert counted == 0 and set(statuses) == {400}
    else:
        assert edit_result.result() == "poll_frozen" and counted >= 1 and set(statuses) == {201}
    with race_app.app_context():
        assert count_ballots(poll_id) == counted
        assert results.poll_results(poll_id).ballots == counted
        assert results.recount(poll_id) == {}


def test_batches_written_while_ballots_arrive_count_every_ballot_exactly_once(race_app):
    """Issue 18.1: the worker's batches run while 120 ballots arrive on 20 connections; afterwards
    (the close) the last batch. Every accepted ballot is counted once, none twice."""
    race_app.config["POLLS_BALLOT_BATCH_MIN"] = 5
    poll_id, codes, body = _seed(race_app, 120)
    url = f"/api/v1/polls/{poll_id}/ballots"
    stop = threading.Event()

    def worker() -> int:
        written = 0
        with race_app.app_context():
            while not stop.is_set():
                written += ballot_batches.flush_all()
                db.session.commit()  # as the worker does after every job: the next round reads afresh
                time.sleep(0.01)
        return written

    with ThreadPoolExecutor(max_workers=21) as pool:
        batches = pool.submit(worker)
        statuses = list(pool.map(lambda code: _post(race_app, url, {"code": code, "answers": body}), codes))
        stop.set()
        written_while_open = batches.result()
    assert statuses.count(201) == 120, {s: statuses.count(s) for s in set(statuses)}
    with race_app.app_context():
        assert written_while_open > 0 and ballot_batches.pending_count(poll_id) >= 5
        close(db.session.get(Poll, poll_id))
        assert written_while_open + ballot_batches.flush_all() == 120
        data = results.poll_results(poll_id)
        assert data.ballots == 120 and [o.votes for o in data.questions[0].options] == [0, 120, 0]
        assert results.recount(poll_id) == {}
