"""The results cache stays exact and behind the visibility rules; counters are sharded; a ballot
checked against questions that changed before its write is checked again."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import db
from polls.models import TALLY_SHARDS, Poll, Tally
from polls.schemas import QuestionInput
from polls.services import ballots, results
from polls.services import polls as poll_service
from tests.factories import make_user
from tests.polls.factories import answers, close, codes_for, count_ballots, login_as, make_poll


def _count(html: str) -> int:
    return int(re.search(r"Abgegebene Stimmzettel: (\d+)", html).group(1))


def test_cached_results_page_changes_with_every_ballot_and_language(client, app):
    poll = make_poll(mode="open")
    url = f"/beteiligung/{poll.slug}/ergebnisse"
    assert _count(client.get(url).get_data(as_text=True)) == 0
    for expected in (1, 2, 3):
        ballots.cast_ballot(poll.id, answers(poll, single=2))
        assert _count(client.get(url).get_data(as_text=True)) == expected - 1  # pending: not counted yet
        count_ballots(poll)
        html = client.get(url).get_data(as_text=True)
        assert _count(html) == expected and f">{expected} (100,0 %)<" in html
    assert _count(client.get(url).get_data(as_text=True)) == 3  # served from the cache, still right
    english = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Which colour?" in english and "Welche Farbe?" not in english
    assert "Welche Farbe?" in client.get(url).get_data(as_text=True)
    api = client.get(f"/api/v1/polls/{poll.id}/results").json
    assert api["ballots"] == 3 and api["questions"][0]["options"][2]["votes"] == 3
    ballots.cast_ballot(poll.id, answers(poll, single=0))
    count_ballots(poll)
    api = client.get(f"/api/v1/polls/{poll.id}/results").json
    assert api["ballots"] == 4 and [o["votes"] for o in api["questions"][0]["options"]] == [1, 0, 3]


def test_visibility_is_checked_before_the_cache(client, app):
    poll = make_poll(visibility="admins", mode="open")
    ballots.cast_ballot(poll.id, answers(poll))
    url = f"/beteiligung/{poll.slug}/ergebnisse"
    admin = make_user("cacheadmin", roles="poll_admin")
    login_as(client, admin)
    assert client.get(url).status_code == 200  # fills the cache
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 200
    with client.session_transaction() as session:
        session.clear()
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/polls/{poll.id}/results").status_code == 404


def test_moderation_invalidates_the_cached_results(client, app):
    poll = make_poll(mode="open")
    ballots.cast_ballot(poll.id, answers(poll, text="Mehr Licht im Park"))
    count_ballots(poll)
    url = f"/beteiligung/{poll.slug}/ergebnisse"
    assert "Mehr Licht im Park" not in client.get(url).get_data(as_text=True)
    [pending] = results.text_answers(poll.id, "pending")
    results.moderate_text_answer(poll.id, pending.id, "published")
    assert "Mehr Licht im Park" in client.get(url).get_data(as_text=True)


def test_counters_are_sharded_and_sum_exactly(app):
    poll = make_poll(mode="open")
    for number in range(40):
        ballots.cast_ballot(poll.id, answers(poll, single=1, multiple=(0, 2)))
        if number % 2:
            assert count_ballots(poll) == 2  # a batch adds to one random shard
    shards = db.session.scalars(select(func.count(func.distinct(Tally.shard))).where(Tally.poll_id == poll.id)).one()
    assert 1 < shards <= TALLY_SHARDS  # 20 batches over 16 shards: almost surely more than one
    data = results.poll_results(poll.id)
    assert data.ballots == 40 == results.ballot_total(poll.id)
    assert [o.votes for o in data.questions[1].options] == [40, 0, 40]
    assert results.recount(poll.id) == {}


def test_a_ballot_checked_against_changed_questions_is_checked_again(app, monkeypatch):
    """An edit that commits between a ballot's checks and its write: the write sees a new revision,
    and the ballot is validated again against the current questions."""
    poll = make_poll(mode="open")
    poll_id = poll.id
    prepare = ballots._prepare
    calls = []

    def prepare_then_edit(*args, **kwargs):
        calls.append(1)
        prepared = prepare(*args, **kwargs)
        if len(calls) == 1:  # a required question appears after the first check
            poll_service.add_question(poll_id, QuestionInput(kind="rating", text_de="Neu", required=True))
        return prepared

    monkeypatch.setattr(ballots, "_prepare", prepare_then_edit)
    with pytest.raises(Invalid) as error:  # checked again: the new question is required
        ballots.cast_ballot(poll_id, answers(poll))
    new_question = db.session.get(Poll, poll_id).questions[-1]
    assert len(calls) == 2 and set(error.value.fields) == {f"q{new_question.id}"}
    assert results.ballot_total(poll_id) == 0


def test_a_closed_poll_refuses_even_a_prepared_ballot(app, monkeypatch):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    prepare = ballots._prepare

    def prepare_then_close(*args, **kwargs):
        prepared = prepare(*args, **kwargs)
        close(poll)
        return prepared

    monkeypatch.setattr(ballots, "_prepare", prepare_then_close)
    with pytest.raises(Conflict) as error:
        ballots.cast_ballot(poll.id, answers(poll), code=code)
    assert error.value.code == "poll_closed" and results.ballot_total(poll.id) == 0
