"""Issue 18.1, the rules of the ballot batches at the service level: the minimum batch, the flush at
the close (by the worker's job and by the results page), one padded length for every ballot, the
admin's view of pending ballots and a changed app secret. The storage attacks themselves:
``test_ballot_secrecy.py``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import registered_jobs
from polls.models import PendingBallot, Poll
from polls.schemas import MAX_TEXT_ANSWER, ParsedBallot
from polls.services import ballot_batches, ballots, results, voting_polls
from tests.polls.factories import answers, close, make_poll


@pytest.fixture
def minimum_three(app):
    app.config["POLLS_BALLOT_BATCH_MIN"] = 3
    yield 3
    app.config["POLLS_BALLOT_BATCH_MIN"] = 20


def _cast(poll: Poll, count: int) -> list[str]:
    return [ballots.cast_ballot(poll.id, answers(poll, single=1)) for _ in range(count)]


def test_batches_keep_the_minimum_back_while_open_and_write_the_rest_at_the_close(app, minimum_three):
    poll = make_poll(mode="open")
    receipts = _cast(poll, 5)
    assert ballot_batches.flush(poll.id) == 0  # 5 < 2 × 3: a batch would leave fewer than 3 behind
    receipts += _cast(poll, 1)
    assert ballot_batches.flush(poll.id) == 3 and ballot_batches.pending_count(poll.id) == 3
    assert results.ballot_total(poll.id) == 3 and results.recount(poll.id) == {}
    statuses = [ballots.receipt_status(poll, receipt) for receipt in receipts]
    assert sorted(statuses) == ["counted"] * 3 + ["received"] * 3  # three random ones wait
    close(poll)
    job = next(job for job in registered_jobs(app) if job.name == "polls.ballot_batches")
    assert job.run() == 3  # the worker's job: the poll is closed, so everything left
    assert [ballots.receipt_status(poll, receipt) for receipt in receipts] == ["counted"] * 6
    data = results.poll_results(poll.id)
    assert data.ballots == 6 and [o.votes for o in data.questions[0].options] == [0, 6, 0]


def test_the_results_page_of_a_closed_poll_counts_the_last_batch_without_the_worker(client, app):
    poll = make_poll(mode="open", visibility="after_close")
    _cast(poll, 2)
    close(poll)
    html = client.get(f"/beteiligung/{poll.slug}/ergebnisse").get_data(as_text=True)
    assert "Abgegebene Stimmzettel: 2" in html
    assert ballot_batches.pending_count(poll.id) == 0
    assert client.get(f"/api/v1/polls/{poll.id}/results").json["ballots"] == 2


def test_every_pending_ballot_of_a_poll_has_the_same_length_whatever_it_says(app):
    poll = make_poll(mode="open")
    form = voting_polls.voting_poll(poll.id)
    single, multiple, rating, text = poll.questions
    smallest = ParsedBallot([single.options[0].id], [], [single.id])
    largest_options = [single.options[0].id, *(o.id for o in multiple.options), rating.options[4].id]
    worst = "\x01\u2028😀\"\\\n"
    texts = [worst * (MAX_TEXT_ANSWER // len(worst)), "😀" * MAX_TEXT_ANSWER, "\x01" * MAX_TEXT_ANSWER]
    lengths = {len(ballot_batches.seal(poll.id, "x" * 32, "0" * 64, smallest, form.questions))}
    for body in texts:
        largest = ParsedBallot(largest_options, [(text.id, body)], [q.id for q in poll.questions])
        sealed = ballot_batches.seal(poll.id, "y" * 32, "1" * 64, largest, form.questions)
        lengths.add(len(sealed))
        assert ballot_batches.open_sealed(poll.id, "y" * 32, sealed).texts == [(text.id, body)]
    assert len(lengths) == 1
    _cast(poll, 1)
    ballots.cast_ballot(poll.id, answers(poll, multiple=(0, 1), text="ä" * MAX_TEXT_ANSWER))
    stored = {len(p) for p in db.session.scalars(select(PendingBallot.payload).where(PendingBallot.poll_id == poll.id))}
    assert stored == lengths


def test_the_admin_sees_pending_ballots_and_the_questions_are_frozen(client, app, poll_admin):
    poll = make_poll(mode="open")
    _cast(poll, 2)
    page = client.get(f"/verwaltung/beteiligung/{poll.id}").get_data(as_text=True)
    assert "0 Stimmen" in page and "(dazu 2 noch nicht ausgezählt)" in page
    assert "Frage hinzufügen" not in page
    frozen = client.post(f"/verwaltung/beteiligung/{poll.id}/fragen", data={"kind": "rating", "text_de": "Neu?"})
    assert frozen.status_code == 409


def test_pending_ballots_under_another_secret_stay_and_nothing_breaks(app, caplog):
    poll = make_poll(mode="open")
    receipt = _cast(poll, 1)[0]
    close(poll)
    secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another secret"
    try:
        assert ballot_batches.flush(poll.id) == 0
        assert ballot_batches.pending_count(poll.id) == 1
        assert "cannot be decrypted" in caplog.text and receipt not in caplog.text
    finally:
        app.config["SECRET_KEY"] = secret
    assert ballot_batches.flush(poll.id) == 1 and ballots.receipt_status(poll, receipt) == "counted"


def test_large_batches_are_split_and_never_leave_fewer_than_the_minimum(app, monkeypatch):
    """At most ``MAX_BATCH`` ballots per transaction (bounded memory), and every batch, the last one
    too, keeps at least the minimum."""
    app.config["POLLS_BALLOT_BATCH_MIN"] = 2
    monkeypatch.setattr(ballot_batches, "MAX_BATCH", 4)
    sizes: list[int] = []
    flush = ballot_batches.flush
    monkeypatch.setattr(ballot_batches, "flush", lambda poll_id, **kw: sizes.append(flush(poll_id, **kw)) or sizes[-1])
    try:
        poll = make_poll(mode="open")
        _cast(poll, 11)
        assert ballot_batches.flush_all() == 8 and sizes == [4, 4, 0]  # open: 3 stay (≥ 2)
        _cast(poll, 8)
        close(poll)
        sizes.clear()
        ballot_batches.settle(db.session.get(Poll, poll.id))
        assert sizes == [4, 4, 3, 0] and ballot_batches.pending_count(poll.id) == 0
        assert results.ballot_total(poll.id) == 19 and results.recount(poll.id) == {}
    finally:
        app.config["POLLS_BALLOT_BATCH_MIN"] = 20


def test_the_poll_page_names_the_threat_model_in_german_and_english(client, app):
    poll = make_poll()
    german = client.get(f"/beteiligung/{poll.slug}").get_data(as_text=True)
    assert "Auch wer die Datenbank, eine Sicherungskopie oder die Protokolle des Servers liest" in german
    assert "in einem Stapel von mindestens 20 Stimmen" in german
    english = client.get(f"/beteiligung/{poll.slug}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Even someone who reads the database, a backup or the server" in english
    assert "in a batch of at least 20 votes" in english
