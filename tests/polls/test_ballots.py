"""Ballot rules, unlinkability, participation modes and results at the service level."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import db
from polls.models import Ballot, EmailToken, InvitationCode, Participation, Poll, Receipt, TextAnswer
from polls.schemas import QuestionInput
from polls.services import ballots, participation, results
from polls.services import polls as poll_service
from tests.polls.factories import answers, close, codes_for, count_ballots, make_poll


def test_a_code_casts_one_ballot_and_the_counters_match(app):
    poll = make_poll()
    code, other = codes_for(poll, 2)
    receipt = ballots.cast_ballot(poll.id, answers(poll, single=1, multiple=(0, 2), rating=5), code=code)
    ballots.cast_ballot(poll.id, answers(poll, single=1, multiple=(2,), rating=3, text=None), code=other.lower())
    assert results.poll_results(poll.id).ballots == 0  # pending until their batch is written
    assert ballots.receipt_status(poll, receipt) == "received"
    assert count_ballots(poll) == 2
    data = results.poll_results(poll.id)
    assert data.ballots == 2
    single, multiple, rating, free = data.questions
    assert [o.votes for o in single.options] == [0, 2, 0]
    assert [o.percent for o in single.options] == [0.0, 100.0, 0.0]
    assert [o.votes for o in multiple.options] == [1, 0, 2]
    assert rating.average == 4.0 and [o.votes for o in rating.options] == [0, 0, 1, 0, 1]
    assert free.answered == 1 and free.texts == []  # not moderated yet
    assert results.recount(poll.id) == {}
    assert ballots.receipt_status(poll, receipt) == "counted"
    assert ballots.receipt_status(poll, receipt.lower()) == "counted"
    assert ballots.receipt_status(poll, "AAAA-BBBB-CCCC-DDDD") is None


def test_a_used_code_is_refused_with_409(app):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    ballots.cast_ballot(poll.id, answers(poll), code=code)
    with pytest.raises(Conflict) as error:
        ballots.cast_ballot(poll.id, answers(poll), code=code)
    assert error.value.code == "already_voted" and error.value.status == 409
    count_ballots(poll)
    assert results.ballot_total(poll.id) == 1


def test_unknown_code_and_bad_answers_are_invalid(app):
    poll = make_poll()
    [code] = codes_for(poll, 1)
    with pytest.raises(Invalid) as error:
        ballots.cast_ballot(poll.id, answers(poll), code="AAAA-AAAA-AAAA")
    assert "code" in error.value.fields
    single, multiple, rating, _free = poll.questions
    bad = answers(poll, multiple=(0, 1, 2))
    bad[str(rating.id)] = 6
    bad.pop(str(single.id))
    with pytest.raises(Invalid) as error:
        ballots.cast_ballot(poll.id, bad, code=code)
    assert set(error.value.fields) == {f"q{single.id}", f"q{multiple.id}", f"q{rating.id}"}
    with pytest.raises(Invalid):
        ballots.cast_ballot(poll.id, {"999999": 1}, code=code)
    with pytest.raises(Invalid):
        ballots.cast_ballot(poll.id, {str(single.id): multiple.options[0].id}, code=code)
    assert results.ballot_total(poll.id) == 0
    ballots.cast_ballot(poll.id, answers(poll), code=code)  # the code is still unused


def test_closed_and_scheduled_polls_refuse_ballots(app):
    from datetime import timedelta

    poll = make_poll()
    [code] = codes_for(poll, 1)
    close(poll)
    with pytest.raises(Conflict) as error:
        ballots.cast_ballot(poll.id, answers(poll), code=code)
    assert error.value.code == "poll_closed"
    later = make_poll(opens_in=timedelta(days=1))
    with pytest.raises(Conflict):
        ballots.cast_ballot(later.id, answers(later), code=code)


def test_questions_are_frozen_once_a_ballot_exists(app):
    poll = make_poll(mode="open")
    poll_service.add_question(poll.id, QuestionInput(kind="rating", text_de="Noch eine"))
    ballots.cast_ballot(poll.id, answers(poll))
    with pytest.raises(Conflict) as error:
        poll_service.add_question(poll.id, QuestionInput(kind="rating", text_de="Zu spät"))
    assert error.value.code == "poll_frozen"
    with pytest.raises(Conflict):
        poll_service.delete_question(poll.id, poll.questions[0].id)


def test_ballots_are_unlinkable_by_schema(app):
    """No foreign key or shared column between ballots and participation; no time on the ballot side."""
    inspector = inspect(db.session.connection())
    ballot_tables = ("poll_ballots", "poll_ballot_choices", "poll_text_answers", "poll_receipts")
    for table in ballot_tables:
        for column in inspector.get_columns(table):
            assert "DATE" not in str(column["type"]).upper() and "TIME" not in str(column["type"]).upper(), table
        for key in inspector.get_foreign_keys(table):
            assert key["referred_table"] not in ("poll_participations", "poll_invitation_codes", "poll_email_tokens")
    for key in inspector.get_foreign_keys("poll_participations"):
        assert key["referred_table"] == "polls"
    participation_columns = {c["name"] for c in inspector.get_columns("poll_participations")}
    assert participation_columns == {"id", "poll_id", "kind", "marker"}
    ballot_columns = {c["name"] for c in inspector.get_columns("poll_ballots")}
    assert ballot_columns == {"id", "poll_id"}
    # random ids, no autoincrement; on SQLite not even a hidden rowid
    poll = make_poll()
    [code] = codes_for(poll, 1)
    receipt = ballots.cast_ballot(poll.id, answers(poll), code=code)
    count_ballots(poll)
    ballot = db.session.scalars(select(Ballot)).one()
    assert len(ballot.id) == 32 and int(ballot.id, 16)
    marker = db.session.scalars(select(Participation)).one()
    assert marker.id != ballot.id and receipt not in (marker.marker, ballot.id)
    if db.engine.dialect.name == "sqlite":
        with pytest.raises(Exception, match="rowid"):
            db.session.execute(text("SELECT rowid FROM poll_ballots")).all()


def test_codes_are_stored_only_as_hashes_and_sealing_forgets_them(app):
    poll = make_poll()
    codes = codes_for(poll, 5)
    assert len(set(codes)) == 5 and all(len(c) == 12 for c in codes)
    stored = {row.code_hash for row in db.session.scalars(select(InvitationCode))}
    assert not stored & set(codes)
    batch = participation.batches(poll.id)[0]
    assert participation.batch_codes(batch) == codes  # downloadable again until sealed
    participation.seal_batch(poll.id, batch.id)
    with pytest.raises(Conflict):
        participation.batch_codes(participation.batches(poll.id)[0])
    ballots.cast_ballot(poll.id, answers(poll), code=codes[0])  # sealed codes still vote


def test_email_mode_stores_only_salted_hashes_and_archiving_deletes_them(app):
    poll = make_poll(mode="email")
    request = participation.request_vote_link(poll, "Anna@Example.org")
    assert request.token
    receipt = ballots.cast_ballot(poll.id, answers(poll), token=request.token)
    assert receipt
    with pytest.raises(Conflict) as error:
        ballots.cast_ballot(poll.id, answers(poll), token=request.token)
    assert error.value.code == "link_invalid"
    again = participation.request_vote_link(poll, "anna@example.org ")
    assert again.token is None  # already voted: no new link
    dump = " ".join(str(row) for table in ("poll_participations", "poll_email_tokens", "polls")
                    for row in db.session.execute(text(f"SELECT * FROM {table}")))
    assert "anna" not in dump.lower()
    other = participation.request_vote_link(poll, "bert@example.org")
    close(poll)
    poll_service.archive_poll(poll.id)
    assert db.session.scalars(select(Participation).where(Participation.kind == "email")).all() == []
    assert db.session.scalars(select(EmailToken)).all() == []
    assert db.session.get(Poll, poll.id).email_salt is None
    assert other.token and results.poll_results(poll.id).ballots == 1


def test_open_mode_needs_no_credential_and_is_informal(app):
    poll = make_poll(mode="open")
    for _ in range(3):
        ballots.cast_ballot(poll.id, answers(poll))
    count_ballots(poll)
    data = results.poll_results(poll.id)
    assert data.ballots == 3 and data.informal


def test_text_answers_are_public_only_after_moderation(app):
    poll = make_poll(mode="open")
    ballots.cast_ballot(poll.id, answers(poll, text="Gute Idee"))
    ballots.cast_ballot(poll.id, answers(poll, text="Unsinn mit Namen"))
    count_ballots(poll)
    pending = results.text_answers(poll.id, "pending")
    assert len(pending) == 2
    good = next(a for a in pending if a.text == "Gute Idee")
    bad = next(a for a in pending if a.text != "Gute Idee")
    results.moderate_text_answer(poll.id, good.id, "published")
    results.moderate_text_answer(poll.id, bad.id, "rejected")
    assert results.poll_results(poll.id).questions[3].texts == ["Gute Idee"]
    assert db.session.get(TextAnswer, bad.id).moderation == "rejected"


def test_results_visibility(app):
    live, after, admins = (make_poll(visibility=v, questions=False) for v in ("live", "after_close", "admins"))
    assert poll_service.results_visible(live, is_admin=False)
    assert not poll_service.results_visible(after, is_admin=False)
    assert not poll_service.results_visible(admins, is_admin=False)
    assert poll_service.results_visible(admins, is_admin=True)
    close(after)
    close(admins)
    assert poll_service.results_visible(after, is_admin=False)
    assert not poll_service.results_visible(admins, is_admin=False)


def test_receipts_are_listed_sorted_without_link_to_ballots(app):
    poll = make_poll(mode="open")
    receipts = [ballots.cast_ballot(poll.id, answers(poll)) for _ in range(4)]
    assert ballots.receipt_hashes(poll) == []  # listed once their batch is written
    count_ballots(poll)
    listed = ballots.receipt_hashes(poll)
    assert listed == sorted(listed) and len(listed) == 4
    assert {ballots.receipt_hash(poll.id, r) for r in receipts} == set(listed)
    assert {c["name"] for c in inspect(db.session.connection()).get_columns("poll_receipts")} == {
        "receipt_hash", "poll_id"}
    assert db.session.scalars(select(Receipt)).all()
