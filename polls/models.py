"""Polls, ballots, participation markers, invitation codes, receipts and suggestions.

Privacy design (issue 6, "unlinkable ballots"):

* ``poll_participations`` records *that* a code or an email address (as a salted hash) was used.
  ``poll_ballots`` holds *what* was chosen. The two tables share no column besides the poll:
  no foreign key, no common identifier, no timestamp at all on the ballot side.
* Ballots, their choices, free-text answers and receipts have random primary keys; on SQLite they
  are ``WITHOUT ROWID`` tables, so no hidden row id reveals the insertion order (the cell offsets
  inside a page still did: hence the batches below).
* A receipt is a random code given to the voter; only its SHA-256 is stored, in its own table
  with no link to the ballot: it proves "my ballot was counted" and nothing about the choice.
* Results come from sharded counters (``poll_tallies``) raised when a batch of ballots is written
  (exact, O(options) to read); ``services.results.recount`` checks them against the ballots with
  one GROUP BY.
* Ballot secrecy in storage (issue 18.1, ``docs/ballot-secrecy.md``): the transaction that writes a
  participation marker writes only an encrypted, padded ``PendingBallot`` besides it; ballots,
  choices, texts, receipts and counters are written later in shuffled batches of their own
  (``services.ballot_batches``), so neither a shared transaction id (PostgreSQL ``xmin``) nor the
  physical order (``ctid``, SQLite cell offsets) links a marker to its ballot.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db


class Mode(StrEnum):
    """Who may vote in a poll (its participation mode). Not to be confused with the status "open"
    (``Poll.status``: voting is possible now): the stored value of ``ANYONE`` is ``"open"`` for
    historical reasons, also in the API's ``mode``."""

    CODES = "codes"  # an invitation code from a letter
    EMAIL = "email"  # a verified e-mail address (a one-time link)
    ANYONE = "open"  # anybody, informally (captcha and rate limit): results are a mood, not a vote


MODES = tuple(Mode)
VISIBILITIES = ("live", "after_close", "admins")
KINDS = ("single", "multiple", "rating", "text")
MODERATION = ("pending", "published", "rejected")
SUGGESTION_STATUSES = ("received", "under_review", "planned", "done", "declined")
RATING_VALUES = (1, 2, 3, 4, 5)

NO_ROWID = {"sqlite_with_rowid": False}


def random_id() -> str:
    return uuid.uuid4().hex


def new_salt() -> str:
    return secrets.token_hex(16)


class Poll(db.Model):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    description: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    mode: Mapped[str] = mapped_column(String(10), default=Mode.CODES.value)
    results_visibility: Mapped[str] = mapped_column(String(12), default="after_close")
    # live results appear only once this many ballots are counted (``services.polls.results_visible``)
    min_ballots_live: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # per-poll salt of the email hashes; cleared with them when the poll is archived
    email_salt: Mapped[str | None] = mapped_column(String(64), default=new_salt)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a new random value with every change of the poll, its questions or the moderation of its
    # free-text answers: ballots re-validate when it moved, cached results are keyed by it
    revision: Mapped[str] = mapped_column(String(32), default=random_id)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="poll", order_by="Question.position", cascade="all, delete-orphan"
    )

    @property
    def anyone_may_vote(self) -> bool:
        """Participation ``Mode.ANYONE``: informal, no code or address needed."""
        return self.mode == Mode.ANYONE

    def status(self, now: datetime) -> str:
        """draft, scheduled, open, closed or archived: computed from the times, never stored."""
        if self.archived_at is not None:
            return "archived"
        if not self.published:
            return "draft"
        if now < self.opens_at:
            return "scheduled"
        if now >= self.closes_at:
            return "closed"
        return "open"


class Question(db.Model):
    __tablename__ = "poll_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[dict[str, str]] = mapped_column(JSON)
    help: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    max_choices: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)

    poll: Mapped[Poll] = relationship(back_populates="questions")
    options: Mapped[list[Option]] = relationship(
        back_populates="question", order_by="Option.position", cascade="all, delete-orphan"
    )


class Option(db.Model):
    """A choice of a single/multiple question, or one of the values 1–5 of a rating question."""

    __tablename__ = "poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[dict[str, str]] = mapped_column(JSON)
    value: Mapped[int | None] = mapped_column(Integer)  # rating value

    question: Mapped[Question] = relationship(back_populates="options")


TALLY_BALLOTS, TALLY_ANSWERED, TALLY_VOTES = 0, 1, 2
TALLY_SHARDS = 16


class Tally(db.Model):
    """A sharded counter of a poll: ``kind`` 0 = ballots (``ref`` 0), 1 = ballots that answered
    question ``ref`` (the base of the percentages), 2 = votes for option ``ref``.

    The value is the sum over the shards. A batch of ballots adds its sums to the rows of one random
    shard with an atomic upsert (``n = n + excluded.n``). No time, no link to a ballot or a
    participation."""

    __tablename__ = "poll_tallies"
    __table_args__ = NO_ROWID

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ref: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Ballot(db.Model):
    """What was chosen: random id, the poll, nothing else (no time, no voter)."""

    __tablename__ = "poll_ballots"
    __table_args__ = NO_ROWID

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)


class BallotChoice(db.Model):
    __tablename__ = "poll_ballot_choices"
    __table_args__ = NO_ROWID

    ballot_id: Mapped[str] = mapped_column(
        ForeignKey("poll_ballots.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TextAnswer(db.Model):
    """A free-text answer; shown publicly only after moderation."""

    __tablename__ = "poll_text_answers"
    __table_args__ = NO_ROWID

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    ballot_id: Mapped[str] = mapped_column(ForeignKey("poll_ballots.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("poll_questions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    moderation: Mapped[str] = mapped_column(String(10), default="pending")


class PendingBallot(db.Model):
    """A cast ballot waiting for its batch (issue 18.1): the answers and the receipt hash, padded to
    one length per poll and encrypted (AES-GCM, key derived from the app secret), so a reader of
    the database or a backup learns nothing from it although it is written in the transaction of
    the participation marker. ``services.ballot_batches.flush`` decrypts a batch, writes the
    ballots in random order in a transaction of its own and deletes the pending rows."""

    __tablename__ = "poll_pending_ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # a keyed hash (app secret) of the receipt hash, to answer "received" without decrypting every
    # row; without the secret it matches nothing in the receipt list
    receipt_tag: Mapped[str] = mapped_column(String(64), index=True)


class Receipt(db.Model):
    """SHA-256 of a receipt code handed to a voter; no link to the ballot."""

    __tablename__ = "poll_receipts"
    __table_args__ = NO_ROWID

    receipt_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)


class Participation(db.Model):
    """The used-marker of a code or of an email address (salted hash): one ballot each.

    The unique constraint is what makes a second ballot impossible, even for two concurrent
    requests. ``marker`` is the code hash or the email hash; email markers are deleted when the
    poll is archived."""

    __tablename__ = "poll_participations"
    __table_args__ = (UniqueConstraint("poll_id", "marker"), NO_ROWID)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # code | email
    marker: Mapped[str] = mapped_column(String(64))


class CodeBatch(db.Model):
    """A batch of invitation codes. The codes are derived from ``nonce`` and the app secret, so the
    admin can download them (CSV, printable sheet) until the batch is sealed, which deletes the
    nonce; the database alone never reveals a code (only SHA-256 hashes are stored)."""

    __tablename__ = "poll_code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvitationCode(db.Model):
    __tablename__ = "poll_invitation_codes"
    __table_args__ = (UniqueConstraint("poll_id", "code_hash"), NO_ROWID)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("poll_code_batches.id", ondelete="CASCADE"), index=True)


class EmailToken(db.Model):
    """A one-time link sent to an email address: to vote, to confirm a suggestion or a support.

    Only the token's SHA-256 and the salted email hash are stored; ``target_id`` is the poll or
    the suggestion."""

    __tablename__ = "poll_email_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # vote | suggest | support
    target_id: Mapped[int] = mapped_column(Integer, index=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suggestion(db.Model):
    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(5), default="de")
    # needed to notify the submitter; removed when the suggestion reaches a final status
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    moderation: Mapped[str] = mapped_column(String(10), default="pending")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(14), default="received")
    answer: Mapped[str | None] = mapped_column(Text)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SuggestionSupport(db.Model):
    __tablename__ = "suggestion_supports"
    __table_args__ = (UniqueConstraint("suggestion_id", "email_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"))
    email_hash: Mapped[str] = mapped_column(String(64))
