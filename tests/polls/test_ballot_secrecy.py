"""Issue 18.1: ballots cannot be linked to voters by someone who reads the database, a copy of the
file or a backup. The tests run the attacks of the security review on real commits:

* SQLite: the page-offset ordering of a copied database file (cells are allocated downwards from the
  page end, so the n-th marker would belong to the n-th ballot), and the WAL as a second route;
* PostgreSQL: the ``xmin`` join (rows written in one transaction share it) and the ``ctid`` order.

30 voters cast in turn (code i writes the free text "Stimme i", so the test knows the truth); the
worker's job writes a batch of 20 while the poll is open (batch minimum 10: 10 random ballots wait),
the rest after the close. The attacker pairs the n-th marker with the n-th ballot (and with the
n-th from the end). Chance links one pair on average; a random permutation links more than
``LINK_BOUND`` = 10 of 30 with probability below 1e-7. Before the fix every pair was linked, which
the control in each test shows: the same ordering recovers the markers' own cast order exactly.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select, text

from citizen_portal.core.extensions import db
from polls.models import (
    TALLY_ANSWERED,
    TALLY_BALLOTS,
    TALLY_VOTES,
    Ballot,
    BallotChoice,
    Participation,
    PendingBallot,
    Poll,
    Receipt,
    TextAnswer,
    random_id,
)
from polls.services import ballot_batches, ballots, results
from polls.services.common import code_hash, random_code
from tests.factories import build_app
from tests.fixtures.database import MIGRATIONS, database_kind
from tests.polls.factories import answers, close, codes_for, make_poll
from tests.polls.sqlite_pages import DatabaseFile, insertion_order

VOTERS = 30
BATCH_MIN = 10
LINK_BOUND = 10


@dataclass(frozen=True)
class Voter:
    number: int
    marker: str
    text: str
    receipt_hash: str


@pytest.fixture
def secrecy_app(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, POLLS_BALLOT_BATCH_MIN=BATCH_MIN, REQUEST_LOG=False)
    if database_kind() == "sqlite":  # Debian builds SQLite with secure_delete on: test without that help
        with app.app_context():
            db.engine.dispose()
            event.listen(db.engine, "connect", lambda connection, _record: connection.execute(
                "PRAGMA secure_delete = OFF"))
    yield app
    with app.app_context():
        db.engine.dispose()


def _vote_and_count(app) -> tuple[int, list[Voter], list[bytes]]:
    """30 ballots one after the other; batches written by the worker's job while open and after the close."""
    with app.app_context():
        poll = make_poll(mode="codes", visibility="after_close")
        voters = []
        for number, code in enumerate(codes_for(poll, VOTERS)):
            label = f"Stimme {number:02d}"
            receipt = ballots.cast_ballot(poll.id, answers(poll, single=number % 3, text=label), code=code)
            voters.append(Voter(number, code_hash(code), label, ballots.receipt_hash(poll.id, receipt)))
        payloads = list(db.session.scalars(select(PendingBallot.payload)))
        assert len(payloads) == VOTERS and len({len(p) for p in payloads}) == 1  # one padded length
        assert not any(b"Stimme" in p for p in payloads)  # encrypted
        if database_kind() == "sqlite":  # as SQLite's auto-checkpoint would: the pending rows reach the file
            db.session.commit()
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.commit()
            assert payloads[0][-32:] in Path(db.engine.url.database).read_bytes()
        assert ballot_batches.flush_all() == VOTERS - BATCH_MIN  # open: all but the minimum
        assert ballot_batches.flush_all() == 0  # 10 pending < 2 × minimum: they wait
        close(db.session.get(Poll, poll.id))
        assert ballot_batches.flush_all() == BATCH_MIN  # closed: the rest
        return poll.id, voters, payloads


def _linked(markers_in_order: list[str], ballots_in_order: list[str], truth: dict[str, str]) -> dict[str, int]:
    """Pairs the attacker gets right by pairing the n-th marker with the n-th ballot, and with the
    n-th from the end. ``truth``: ballot key → marker."""
    assert len(markers_in_order) == len(ballots_in_order) == VOTERS
    forward = sum(truth[b] == m for m, b in zip(markers_in_order, ballots_in_order, strict=True))
    backward = sum(truth[b] == m for m, b in zip(markers_in_order, reversed(ballots_in_order), strict=True))
    return {"forward": forward, "backward": backward}


def _assert_chance(links: dict[str, int], what: str) -> None:
    assert max(links.values()) <= LINK_BOUND, f"{what}: {links} of {VOTERS} linked"


def test_ballots_cannot_be_linked_to_voters_from_storage(secrecy_app, tmp_path):
    """The attack of the database the suite runs on: SQLite's file pages or PostgreSQL's xmin/ctid."""
    if database_kind() == "postgresql":
        _postgresql_attack(secrecy_app)
    else:
        _sqlite_attack(secrecy_app, tmp_path)


def _sqlite_attack(secrecy_app, tmp_path: Path) -> None:
    _poll_id, voters, payloads = _vote_and_count(secrecy_app)
    with secrecy_app.app_context():
        database = Path(db.engine.url.database)
        wal = database.with_name(database.name + "-wal")
        # the WAL route: after the batch the WAL is checkpointed and truncated
        assert not wal.exists() or wal.stat().st_size == 0
        assert db.session.scalar(select(PendingBallot.id)) is None
    pages = copied_file(database, tmp_path)
    # secure_delete: not even the ciphertexts of the pending rows are left in the file
    assert not any(payload[16:48] in pages.data or payload[-32:] in pages.data for payload in payloads)
    for what, links in sqlite_links(pages, voters).items():
        _assert_chance(links, what)


def copied_file(database: Path, tmp_path: Path) -> DatabaseFile:
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(database, copy)
    return DatabaseFile(copy)


def sqlite_links(pages: DatabaseFile, voters: list[Voter]) -> dict[str, dict[str, int]]:
    """The page-offset attack on a copied file: linked pairs per table (ballots, texts, receipts)."""
    by_marker = {v.marker: v for v in voters}
    markers = [value for cell in insertion_order(pages.cells("poll_participations"))
               for value in cell.values if value in by_marker]
    assert markers == [v.marker for v in voters]  # control: the file gives away the cast order of markers
    texts = {cell.values[1]: cell.values[3] for cell in pages.cells("poll_text_answers")}  # ballot id → text
    by_text = {v.text: v.marker for v in voters}
    truth = {ballot_id: by_text[label] for ballot_id, label in texts.items()}
    by_receipt = {v.receipt_hash: v.marker for v in voters}
    return {
        "ballots by page offset": _linked(
            markers, [cell.values[0] for cell in insertion_order(pages.cells("poll_ballots"))], truth),
        "text answers by page offset": _linked(
            markers, [cell.values[1] for cell in insertion_order(pages.cells("poll_text_answers"))], truth),
        "receipts by page offset": _linked(
            markers, [cell.values[0] for cell in insertion_order(pages.cells("poll_receipts"))], by_receipt),
    }


def _pg_rows(query: str, poll_id: int) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(text(query), {"poll": poll_id})]


def _ctid(value: str) -> tuple[int, int]:
    page, item = value.strip("()").split(",")
    return int(page), int(item)


def _postgresql_attack(secrecy_app) -> None:
    poll_id, voters, _payloads = _vote_and_count(secrecy_app)
    with secrecy_app.app_context():
        links = postgresql_links(poll_id, voters)
        assert len({row[0] for row in _pg_rows("SELECT xmin::text::bigint FROM poll_ballots WHERE poll_id = :poll",
                                               poll_id)}) == 2  # two batches, one transaction each
    for what, counted in links.items():
        if what.endswith("xmin join"):  # not a single row shares a marker's transaction
            assert counted["forward"] == 0, (what, counted)
        _assert_chance(counted, what)


def postgresql_links(poll_id: int, voters: list[Voter]) -> dict[str, dict[str, int]]:
    """The xmin join and the ctid / (xmin, ctid) orders: linked pairs per table (in an app context)."""
    markers = _pg_rows("SELECT xmin::text::bigint, ctid::text, marker FROM poll_participations "
                       "WHERE poll_id = :poll", poll_id)
    ballot_rows = _pg_rows("SELECT xmin::text::bigint, ctid::text, id FROM poll_ballots WHERE poll_id = :poll",
                           poll_id)
    text_rows = _pg_rows("SELECT t.xmin::text::bigint, t.ctid::text, t.ballot_id, t.text FROM poll_text_answers t "
                         "JOIN poll_ballots b ON b.id = t.ballot_id WHERE b.poll_id = :poll", poll_id)
    receipt_rows = _pg_rows("SELECT xmin::text::bigint, ctid::text, receipt_hash FROM poll_receipts "
                            "WHERE poll_id = :poll", poll_id)
    by_xmin = sorted(markers, key=lambda row: (row[0], _ctid(row[1])))
    marker_order = [row[2] for row in by_xmin]
    assert marker_order == [v.marker for v in voters]  # control: xmin gives the cast order of markers
    marker_xmin = {row[2]: row[0] for row in markers}
    by_text = {v.text: v.marker for v in voters}
    truth = {row[2]: by_text[row[3]] for row in text_rows}
    links: dict[str, dict[str, int]] = {}
    for name, rows, known in (("ballots", ballot_rows, truth), ("text answers", text_rows, truth),
                              ("receipts", receipt_rows, {v.receipt_hash: v.marker for v in voters})):
        # the join of the review: a row whose xmin is its own marker's xmin
        links[f"{name} by xmin join"] = {"forward": sum(marker_xmin[known[row[2]]] == row[0] for row in rows)}
        for order_name, order in (("ctid", lambda r: _ctid(r[1])), ("xmin, ctid", lambda r: (r[0], _ctid(r[1])))):
            links[f"{name} by {order_name}"] = _linked(marker_order, [row[2] for row in sorted(rows, key=order)],
                                                       known)
    return links


def _cast_the_old_way(app) -> tuple[int, list[Voter]]:
    """What the code before issue 18.1 wrote: marker, ballot, choice, text answer, receipt and
    counters of each voter in one transaction, in cast order."""
    with app.app_context():
        poll = make_poll(mode="codes", visibility="after_close")
        single, text_question = poll.questions[0], poll.questions[3]
        voters = []
        for number, code in enumerate(codes_for(poll, VOTERS)):
            ballot_id, label = random_id(), f"Stimme {number:02d}"
            digest = ballots.receipt_hash(poll.id, random_code(16))
            option = single.options[number % 3].id
            db.session.execute(insert(Participation.__table__), {
                "id": random_id(), "poll_id": poll.id, "kind": "code", "marker": code_hash(code)})
            db.session.execute(insert(Ballot.__table__), {"id": ballot_id, "poll_id": poll.id})
            db.session.execute(insert(BallotChoice.__table__), {"ballot_id": ballot_id, "option_id": option})
            db.session.execute(insert(TextAnswer.__table__), {
                "id": random_id(), "ballot_id": ballot_id, "question_id": text_question.id, "text": label,
                "moderation": "pending"})
            db.session.execute(insert(Receipt.__table__), {"receipt_hash": digest, "poll_id": poll.id})
            db.session.execute(ballot_batches._tally_increment(), [
                {"poll_id": poll.id, "kind": kind, "ref": ref, "shard": 0, "n": 1}
                for kind, ref in ((TALLY_BALLOTS, 0), (TALLY_ANSWERED, single.id),
                                  (TALLY_ANSWERED, text_question.id), (TALLY_VOTES, option))])
            db.session.commit()
            voters.append(Voter(number, code_hash(code), label, digest))
        return poll.id, voters


def _links_now(app, poll_id: int, voters: list[Voter], tmp_path: Path) -> dict[str, dict[str, int]]:
    with app.app_context():
        if database_kind() == "postgresql":
            return postgresql_links(poll_id, voters)
        database = Path(db.engine.url.database)
        db.engine.dispose()  # the last connection checkpoints the WAL into the file
    return sqlite_links(copied_file(database, tmp_path), voters)


def test_the_migration_rewrites_ballots_cast_before_the_fix_in_random_order(secrecy_app, tmp_path):
    """Revision 1811: ballots stored the old way (linked 30 of 30 by the same attack) are rewritten
    so that the attack links no more than chance; the results stay exact."""
    from flask_migrate import downgrade, upgrade

    poll_id, voters = _cast_the_old_way(secrecy_app)
    with secrecy_app.app_context():
        downgrade(directory=MIGRATIONS, revision="1810_polls_pending_ballots")
        db.engine.dispose()
    before = _links_now(secrecy_app, poll_id, voters, tmp_path)
    assert before[next(what for what in before if what.startswith("ballots by"))]["forward"] == VOTERS

    with secrecy_app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        db.engine.dispose()
    after = _links_now(secrecy_app, poll_id, voters, tmp_path)
    for what, counted in after.items():
        if what.endswith("xmin join"):
            assert counted["forward"] == 0, (what, counted)
        _assert_chance(counted, what)
    with secrecy_app.app_context():
        data = results.poll_results(poll_id)
        assert data.ballots == VOTERS and [o.votes for o in data.questions[0].options] == [10, 10, 10]
        assert results.recount(poll_id) == {}
        assert set(ballots.receipt_hashes(db.session.get(Poll, poll_id))) == {v.receipt_hash for v in voters}
