"""Casting a ballot.

Rules:
* only while the poll's status is open (computed from its times), otherwise 409 ``poll_closed``;
* mode ``codes``: a valid, unused invitation code; ``email``: a valid, unused one-time link;
  ``Mode.ANYONE``: nothing (the caller checked the captcha and the rate limit);
* the answers are typed by the poll's ``schemas.answers_model`` (single = one option, multiple = at
  most ``max_choices`` distinct options, rating = 1–5, text = at most 2000 characters; required
  questions answered; at least one answer);
* everything that can be checked without a lock is checked first (status, code, answers), so the
  write transaction is short: lock-free reads, then two inserts (marker, pending ballot);
* one ballot per code / address: the participation marker is unique per (poll, marker). Two
  concurrent requests with the same code both pass the checks; the second INSERT of the marker
  waits for the first transaction and then fails on the unique constraint → 409 ``already_voted``;
  an e-mail ballot also holds ``locks.poll_email`` of its address, as asking for a link does;
  other ballots take no advisory lock, so ballots of one poll never wait for each other;
* frozen questions: the ballot transaction reads the poll row ``FOR SHARE`` (ballots don't block
  each other; a question edit, which updates that row, waits for them and then sees the ballots)
  and compares the poll's ``revision`` with the one the answers were checked against; if the poll
  changed in between, the ballot is checked again from the start;
* ballot secrecy in storage (issue 18.1, ``ballot_batches``): this transaction writes the marker
  and one encrypted, padded pending row; the ballot, its receipt hash and the counters are written
  later in a shuffled batch of its own, so no counted row shares the marker's transaction or its
  order; the ballot then has a random id, no time and no reference to the participation;
* the voter gets a random receipt code (not in cast order); only its hash is stored, in the
  pending row and then, apart from the ballot, in the receipt list of its batch.

On SQLite ``write_transaction`` is ``BEGIN IMMEDIATE``: ballots are serialised by the database's
single write lock and the same checks hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import Schema
from citizen_portal.core.security import token_hash

from ..models import (
    EmailToken,
    InvitationCode,
    Mode,
    Option,
    Participation,
    PendingBallot,
    Poll,
    Question,
    Receipt,
    random_id,
)
from ..schemas import FormQuestion, ParsedBallot, answers_model, parse_answers
from . import ballot_batches
from .common import code_hash, normalize_code, now, random_code

RECEIPT_LENGTH = 16


MAX_ATTEMPTS = 3  # a ballot is checked again when the poll changed between the checks and the write
FORM_CACHE_SIZE = 512


@dataclass(frozen=True)
class BallotForm:
    poll_id: int
    revision: str
    questions: tuple[FormQuestion, ...]
    answers: type[Schema]  # ``schemas.answers_model`` of the questions


@dataclass(frozen=True)
class _Prepared:
    revision: str
    marker: tuple[str, str] | None
    parsed: ParsedBallot
    questions: tuple[FormQuestion, ...]


class _PollChanged(Exception):
    """The poll's revision moved between the checks and the write: check again."""


def ballot_form(poll: Poll) -> BallotForm:
    """The poll's questions as plain values, cached per process by (poll, revision); the revision
    changes with every edit. On a miss the questions are read in one statement together with the
    revision they belong to (the write transaction compares that revision with the poll row's)."""
    cache: dict[tuple[int, str], BallotForm] = current_app.extensions.setdefault("polls.ballot_forms", {})
    form = cache.get((poll.id, poll.revision))
    if form is not None:
        return form
    rows = db.session.execute(
        select(Poll.revision, Question.id, Question.kind, Question.required, Question.max_choices,
               Option.id, Option.value)
        .select_from(Poll).outerjoin(Question, Question.poll_id == Poll.id)
        .outerjoin(Option, Option.question_id == Question.id)
        .where(Poll.id == poll.id).order_by(Question.position, Question.id, Option.position, Option.id)
    ).all()
    if not rows:
        raise NotFound()
    questions: dict[int, dict[str, Any]] = {}
    for _rev, question_id, kind, required, max_choices, option_id, value in rows:
        if question_id is None:
            continue
        entry = questions.setdefault(question_id, {"kind": kind, "required": required, "max": max_choices,
                                                   "options": [], "rating": {}})
        if option_id is not None:
            entry["options"].append(option_id)
            if value is not None:
                entry["rating"][value] = option_id
    typed = tuple(FormQuestion(qid, e["kind"], bool(e["required"]), e["max"], tuple(e["options"]), e["rating"])
                  for qid, e in questions.items())
    form = BallotForm(poll.id, rows[0][0], typed, answers_model(typed))
    if len(cache) >= FORM_CACHE_SIZE:
        cache.clear()
    cache[(poll.id, form.revision)] = form
    return form


def receipt_hash(poll_id: int, receipt: str) -> str:
    return token_hash(f"receipt:{poll_id}:{normalize_code(receipt)}")


def cast_ballot(poll_id: int, answers: dict[str, Any], *, code: str | None = None,
                token: str | None = None) -> str:
    """Count one ballot and return the receipt code (shown once to the voter). ``answers`` by
    question id as the API sends them (``schemas.BallotInput.answers``)."""
    for _attempt in range(MAX_ATTEMPTS):
        poll = db.session.get(Poll, poll_id)
        if poll is None:
            raise NotFound()
        prepared = _prepare(poll, answers, code, token)
        try:
            return _write(poll_id, prepared)
        except _PollChanged:
            continue  # the rollback expired the poll: the next round reads it again
    raise Conflict(_l("Die Umfrage wurde gerade geändert. Bitte versuchen Sie es noch einmal."), code="poll_changed")


def _closed() -> Conflict:
    return Conflict(_l("Die Umfrage ist nicht geöffnet: Es kann nicht abgestimmt werden."), code="poll_closed")


def _prepare(poll: Poll, answers: dict[str, Any], code: str | None, token: str | None) -> _Prepared:
    """Every check that needs no lock: status, code or link, answers. Read-only."""
    if poll.status(now()) != "open":
        raise _closed()
    form = ballot_form(poll)
    errors: dict[str, Any] = {}
    marker = parsed = None
    try:
        marker = _participation_marker(poll, code, token)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        parsed = parse_answers(form.questions, form.answers, answers)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors or parsed is None:
        raise Invalid(fields=errors)
    return _Prepared(form.revision, marker, parsed, form.questions)


_PARTICIPATION = insert(Participation.__table__)
_PENDING = insert(PendingBallot.__table__)


def _write(poll_id: int, prepared: _Prepared) -> str:
    """The short write transaction: poll row FOR SHARE (re-check), marker, encrypted pending ballot.
    Nothing else: the ballot, its receipt and the counters are written later, in a shuffled batch
    (``ballot_batches.flush``), so nothing counted shares this transaction or its order."""
    receipt = random_code(RECEIPT_LENGTH)
    pending_id = random_id()
    digest = receipt_hash(poll_id, receipt)
    payload = ballot_batches.seal(poll_id, pending_id, digest, prepared.parsed, prepared.questions)
    email = prepared.marker is not None and prepared.marker[0] == "email"
    with write_transaction(*([locks.poll_email(poll_id, prepared.marker[1])] if email else [])):
        row = db.session.execute(
            select(Poll.revision, Poll.published, Poll.archived_at, Poll.opens_at, Poll.closes_at)
            .where(Poll.id == poll_id).with_for_update(read=True)
        ).one_or_none()
        if row is None:
            raise NotFound()
        if Poll.status(row, now()) != "open":  # status() reads only these four columns
            raise _closed()
        if row.revision != prepared.revision:
            raise _PollChanged()
        if prepared.marker is not None:
            kind, marker = prepared.marker
            if kind == "email":  # the link and any other open link of this address
                db.session.execute(delete(EmailToken).where(
                    EmailToken.email_hash == marker, EmailToken.purpose == "vote", EmailToken.target_id == poll_id))
            try:
                db.session.execute(_PARTICIPATION, {"poll_id": poll_id, "kind": kind, "marker": marker})
            except IntegrityError:
                raise _already_voted() from None
        db.session.execute(_PENDING, {"id": pending_id, "poll_id": poll_id, "payload": payload,
                                      "receipt_tag": ballot_batches.receipt_tag(digest)})
    return receipt


def _already_voted() -> Conflict:
    return Conflict(_l("Mit diesem Code oder dieser E-Mail-Adresse wurde schon abgestimmt. "
                       "Jede Person kann nur einmal abstimmen."), code="already_voted")


def _participation_marker(poll: Poll, code: str | None, token: str | None) -> tuple[str, str] | None:
    """The used-marker this ballot will insert (read-only; the unique constraint decides races)."""
    if poll.mode == Mode.ANYONE:
        return None
    if poll.mode == Mode.CODES:
        if not code or not normalize_code(code) or len(code) > 40:
            raise Invalid(fields={"code": _l("Bitte geben Sie Ihren Einladungscode ein.")})
        digest = code_hash(code)
        row = db.session.execute(
            select(InvitationCode.code_hash, Participation.id)
            .outerjoin(Participation, and_(Participation.poll_id == InvitationCode.poll_id,
                                           Participation.marker == InvitationCode.code_hash))
            .where(InvitationCode.code_hash == digest, InvitationCode.poll_id == poll.id)
        ).first()
        if row is None:
            raise Invalid(fields={"code": _l(
                "Dieser Code ist für diese Umfrage nicht gültig. Bitte prüfen Sie die Eingabe.")})
        if row[1] is not None:
            raise _already_voted()
        return ("code", digest)
    # email: a one-time link
    row = db.session.get(EmailToken, token_hash(token)) if token and len(token) <= 100 else None
    if row is None or row.purpose != "vote" or row.target_id != poll.id or row.expires_at <= now():
        raise Conflict(_l("Der Link ist ungültig, abgelaufen oder wurde schon benutzt. "
                          "Bitte fordern Sie einen neuen Link an."), code="link_invalid")
    marker = row.email_hash
    if db.session.scalar(select(Participation.id).where(Participation.poll_id == poll.id,
                                                        Participation.marker == marker)):
        raise _already_voted()
    return ("email", marker)


def receipt_status(poll: Poll, receipt: str) -> str | None:
    """``"counted"``, ``"received"`` (its batch is not written yet) or None (``ballot_batches.receipt_status``)."""
    if not receipt or len(receipt) > 40:
        return None
    return ballot_batches.receipt_status(poll.id, receipt_hash(poll.id, receipt))


def receipt_hashes(poll: Poll) -> list[str]:
    """The published receipt list: sorted hashes, so the order reveals nothing."""
    return list(db.session.scalars(select(Receipt.receipt_hash).where(Receipt.poll_id == poll.id)
                                   .order_by(Receipt.receipt_hash)))
