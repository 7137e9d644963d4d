"""Ballot secrecy in storage (issue 18.1): pending ballots and shuffled batches.

Threat model and reasoning: ``docs/ballot-secrecy.md``. The short version: whatever is written in
the transaction of a participation marker, or in cast order, can be linked to the voter by a
reader of the database, a backup or the WAL (same PostgreSQL ``xmin``, neighbouring ``ctid``,
SQLite cell offsets inside a page, WAL frames). So the transaction of a ballot writes only what
reveals nothing, and the ballot itself reaches the counted tables later, mixed with others.

Rules:
* a cast ballot is written as one pending row (``PendingBallot``) in the transaction of its
  participation marker: answers and receipt hash, padded to one length per poll (so the length
  says nothing about the answers) and encrypted with AES-GCM under a key derived from the app
  secret (``app_key("ballot-buffer")``, never stored in the database); random id, no time; a
  keyed hash of the receipt hash (``receipt_tag``) finds it for the receipt check;
* ``flush`` moves pending ballots into the counted tables (ballots, choices, free texts, receipts,
  counters) in a transaction of its own: while the poll is open only when at least
  2 × ``POLLS_BALLOT_BATCH_MIN`` are pending, and then all but ``POLLS_BALLOT_BATCH_MIN`` randomly
  chosen ones, so every batch, the last one too, has at least the minimum; once the poll is no
  longer open (closed, unpublished, archived) all of them; at most ``MAX_BATCH`` per transaction
  (randomly chosen, never leaving fewer than the minimum behind);
* a batch gets new random ids and is inserted in random order, each table shuffled on its own;
  the counters get one aggregated increment per key (one random shard per batch);
* SQLite: the pending rows are deleted with ``secure_delete`` (overwritten with zeros) and the WAL
  is checkpointed and truncated after the commit;
* results are read from the counted tables only: a ballot counts (and its receipt checks as
  counted) once its batch is written; before that its receipt checks as received (``receipt_status``);
* the worker's job ``polls.ballot_batches`` flushes every poll with pending ballots; the results
  of a poll that is no longer open and archiving flush first (``settle``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import delete, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite

from citizen_portal.core import locks
from citizen_portal.core.database import is_postgresql, write_transaction
from citizen_portal.core.extensions import db

from ..models import (
    TALLY_ANSWERED,
    TALLY_BALLOTS,
    TALLY_SHARDS,
    TALLY_VOTES,
    Ballot,
    BallotChoice,
    PendingBallot,
    Poll,
    Receipt,
    Tally,
    TextAnswer,
    random_id,
)
from ..schemas import MAX_TEXT_ANSWER, FormQuestion, ParsedBallot
from .common import app_key, keyed_hash, now

log = logging.getLogger(__name__)

NONCE_BYTES = 12
MAX_BATCH = 2000  # ballots per batch transaction (bounded memory: the pending rows are read per batch)
# worst case of one character in the payload: a control character escaped as \u00XX
_BYTES_PER_CHAR = 6


@dataclass(frozen=True)
class PendingContent:
    """What a pending row holds, decrypted."""

    receipt_hash: str
    option_ids: list[int]
    answered: list[int]
    texts: list[tuple[int, str]]


def _cipher() -> AESGCM:
    return AESGCM(bytes.fromhex(app_key("ballot-buffer")))


def padded_length(questions: tuple[FormQuestion, ...]) -> int:
    """The one plaintext length of every pending ballot of a poll: room for the largest possible
    answers (every option, the longest texts), rounded up to 1 KiB."""
    size = 256
    for question in questions:
        size += 16 + 14 * len(question.option_ids)
        if question.kind == "text":
            size += 16 + _BYTES_PER_CHAR * MAX_TEXT_ANSWER
    return -(-size // 1024) * 1024


def seal(poll_id: int, pending_id: str, receipt_hash: str, parsed: ParsedBallot,
         questions: tuple[FormQuestion, ...]) -> bytes:
    """The encrypted, padded payload of a pending row (nonce + AES-GCM ciphertext). The poll and
    the row id are authenticated with it, so a row cannot be moved to another poll."""
    body = json.dumps({"r": receipt_hash, "o": parsed.option_ids, "a": parsed.answered,
                       "t": [[q, t] for q, t in parsed.texts]}, ensure_ascii=False, separators=(",", ":"))
    data = body.encode("utf-8", "surrogatepass")
    length = padded_length(questions)
    if len(data) + 4 > length:  # cannot happen for answers the schema accepted
        raise ValueError("ballot larger than its padding")
    plain = len(data).to_bytes(4, "big") + data + bytes(length - 4 - len(data))
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _cipher().encrypt(nonce, plain, f"{poll_id}:{pending_id}".encode())


def open_sealed(poll_id: int, pending_id: str, payload: bytes) -> PendingContent:
    plain = _cipher().decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:], f"{poll_id}:{pending_id}".encode())
    size = int.from_bytes(plain[:4], "big")
    body: dict[str, Any] = json.loads(plain[4:4 + size].decode("utf-8", "surrogatepass"))
    return PendingContent(body["r"], list(body["o"]), list(body["a"]), [(q, t) for q, t in body["t"]])


def receipt_tag(receipt_hash: str) -> str:
    """The pending row's lookup key of a receipt: a keyed hash under the app secret, so the
    database alone cannot match it with the receipt list written later."""
    return keyed_hash(app_key("receipt-tag"), receipt_hash)


def pending_count(poll_id: int) -> int:
    return int(db.session.scalar(select(func.count()).select_from(PendingBallot)
                                 .where(PendingBallot.poll_id == poll_id)))


def has_pending(poll_id: int) -> bool:
    return db.session.scalar(select(PendingBallot.id).where(PendingBallot.poll_id == poll_id).limit(1)) is not None


def batch_minimum() -> int:
    return max(1, int(current_app.config["POLLS_BALLOT_BATCH_MIN"]))


def _tally_increment():
    table = Tally.__table__
    statement = (postgresql.insert(table) if is_postgresql() else sqlite.insert(table))
    return statement.on_conflict_do_update(index_elements=["poll_id", "kind", "ref", "shard"],
                                           set_={"n": table.c.n + statement.excluded.n})


def _batch_size(pending: int, minimum: int, is_open: bool) -> int:
    """How many of ``pending`` ballots the next batch writes: while open all but ``minimum`` (none
    below 2 × ``minimum``), else all; at most ``MAX_BATCH``, and never so many that fewer than
    ``minimum`` would be left for the batch after it."""
    size = (pending - minimum if pending >= 2 * minimum else 0) if is_open else pending
    if size > MAX_BATCH:
        size = min(MAX_BATCH, pending - minimum)
    return max(size, 0)


def flush(poll_id: int, *, minimum: int | None = None) -> int:
    """Write one batch of the poll's pending ballots (see the module rules); returns how many.

    ``minimum``: the batch minimum, ``POLLS_BALLOT_BATCH_MIN`` unless given (tests pass 0 to count
    everything at once)."""
    chooser = secrets.SystemRandom()
    minimum = batch_minimum() if minimum is None else minimum
    postgres = is_postgresql()
    poll = db.session.get(Poll, poll_id)
    if poll is None or _batch_size(pending_count(poll_id), minimum, poll.status(now()) == "open") == 0:
        return 0  # nothing due: no write lock taken (checked again under the lock)
    with write_transaction(locks.poll(poll_id)):
        poll = db.session.get(Poll, poll_id)
        if poll is None:
            return 0
        pending_ids = list(db.session.scalars(select(PendingBallot.id).where(PendingBallot.poll_id == poll_id)))
        size = _batch_size(len(pending_ids), minimum, poll.status(now()) == "open")
        if size == 0:
            return 0
        chosen = chooser.sample(pending_ids, size)  # the others, chosen at random, wait
        contents = []
        for pending_id, payload in db.session.execute(select(PendingBallot.id, PendingBallot.payload)
                                                      .where(PendingBallot.id.in_(chosen))):
            try:
                contents.append(open_sealed(poll_id, pending_id, payload))
            except InvalidTag:  # another app secret: leave the row, say so without details
                log.error("pending ballot of poll %s cannot be decrypted (was SECRET_KEY changed?)", poll_id)
                return 0
        if not postgres:
            db.session.execute(sql_text("PRAGMA secure_delete = ON"))
        _write_batch(poll_id, contents, chooser)
        db.session.execute(delete(PendingBallot).where(PendingBallot.id.in_(chosen)))
    if not postgres:
        _truncate_wal()
    log.info("poll %s: counted a batch of %d ballots", poll_id, len(contents))
    return len(contents)


def flush_until_done(poll_id: int, *, minimum: int | None = None) -> int:
    """``flush`` until it writes nothing more (a poll with more than ``MAX_BATCH`` ready)."""
    total = 0
    while written := flush(poll_id, minimum=minimum):
        total += written
    return total


def _write_batch(poll_id: int, contents: list[PendingContent], chooser: random.Random) -> None:
    """Insert the ballots with new random ids, every table in its own random order, and add the
    batch to the counters in one aggregated statement."""
    ballots = [(random_id(), content) for content in contents]
    chooser.shuffle(ballots)
    choices = [{"ballot_id": ballot_id, "option_id": option_id}
               for ballot_id, content in ballots for option_id in content.option_ids]
    texts = [{"id": random_id(), "ballot_id": ballot_id, "question_id": question_id, "text": text,
              "moderation": "pending"} for ballot_id, content in ballots for question_id, text in content.texts]
    receipts = [{"receipt_hash": content.receipt_hash, "poll_id": poll_id} for content in contents]
    for rows in (choices, texts, receipts):
        chooser.shuffle(rows)
    counts: Counter[tuple[int, int]] = Counter()
    for content in contents:
        counts[(TALLY_BALLOTS, 0)] += 1
        counts.update((TALLY_ANSWERED, question_id) for question_id in content.answered)
        counts.update((TALLY_VOTES, option_id) for option_id in content.option_ids)
    db.session.execute(insert(Ballot.__table__), [{"id": ballot_id, "poll_id": poll_id} for ballot_id, _c in ballots])
    for table, rows in ((BallotChoice.__table__, choices), (TextAnswer.__table__, texts),
                        (Receipt.__table__, receipts)):
        if rows:
            db.session.execute(insert(table), rows)
    shard = chooser.randrange(TALLY_SHARDS)
    db.session.execute(_tally_increment(), [
        {"poll_id": poll_id, "kind": kind, "ref": ref, "shard": shard, "n": n}
        for (kind, ref), n in sorted(counts.items())])


def _truncate_wal() -> None:
    """SQLite: copy the WAL into the database and truncate it, so the file no longer holds one
    commit per ballot. Best effort: with a reader active right now it stays for the next flush."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        timeout = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout = 200")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        cursor.close()
    finally:
        connection.close()


def flush_all() -> int:
    """The worker's job: the batches of every poll with pending ballots (as ``flush`` decides)."""
    poll_ids = list(db.session.scalars(select(PendingBallot.poll_id).distinct()))
    return sum(flush_until_done(poll_id) for poll_id in poll_ids)


def settle(poll: Poll) -> None:
    """Before showing final results or archiving: a poll that is no longer open has no pending
    ballots left (one cheap query when there are none)."""
    if poll.status(now()) != "open" and has_pending(poll.id):
        flush_until_done(poll.id)


def receipt_status(poll_id: int, receipt_hash: str) -> str | None:
    """``"counted"`` (in the receipt list), ``"received"`` (pending, counted with a later batch) or
    None (unknown)."""
    if db.session.get(Receipt, receipt_hash) is not None:
        return "counted"
    found = db.session.scalar(select(PendingBallot.id).where(PendingBallot.poll_id == poll_id,
                                                             PendingBallot.receipt_tag == receipt_tag(receipt_hash)))
    return "received" if found is not None else None
