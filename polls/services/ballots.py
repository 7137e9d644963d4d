"""Casting a ballot.

Rules:
* only while the poll is open (computed from its times), otherwise 409 ``poll_closed``;
* codes mode: a valid, unused invitation code; email mode: a valid, unused one-time link;
  open mode: nothing (the caller checked the captcha and the rate limit);
* one ballot per code / address: the participation marker is unique per poll, and every ballot
  transaction first updates the poll's row (``ballot_count + 1``), so ballots of one poll commit
  one after the other: a second request with the same code waits, then sees the marker → 409
  ``already_voted``. The unique constraint stays the last line of defence;
* answers are checked against the questions: single = one option, multiple = at most
  ``max_choices`` distinct options, rating = 1–5, text = at most 2000 characters; required
  questions must be answered; at least one answer;
* the ballot has a random id, no time and no reference to the participation; choices go into
  per-option counters in the same transaction (exact counts, cheap results);
* the voter gets a random receipt code; only its hash is stored, apart from the ballot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from citizen_portal.database import write_transaction
from citizen_portal.errors import Conflict, Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l

from ..models import (
    Ballot,
    BallotChoice,
    EmailToken,
    InvitationCode,
    Option,
    Participation,
    Poll,
    Question,
    Receipt,
    TextAnswer,
    random_id,
)
from ..schemas import MAX_TEXT_ANSWER
from .common import code_hash, normalize_code, now, random_code, sha256

RECEIPT_LENGTH = 16


@dataclass
class ParsedBallot:
    option_ids: list[int]
    texts: list[tuple[int, str]]
    answered: list[int]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 12:
        return int(value.strip())
    return None


def validate_answers(questions: list[Question], answers: dict[str, Any]) -> ParsedBallot:
    errors: dict[str, Any] = {}
    by_id = {str(q.id): q for q in questions}
    unknown = [key for key in answers if key not in by_id]
    if unknown:
        raise Invalid(fields={"answers": _l("Die Antworten passen nicht zu den Fragen dieser Umfrage.")})
    option_ids: list[int] = []
    texts: list[tuple[int, str]] = []
    answered: list[int] = []
    for question in questions:
        field = f"q{question.id}"
        raw = answers.get(str(question.id))
        if raw in (None, "", []):
            if question.required:
                errors[field] = _l("Bitte beantworten Sie diese Frage.")
            continue
        options = {o.id: o for o in question.options}
        if question.kind == "single":
            choice = _as_int(raw)
            if choice not in options:
                errors[field] = _l("Bitte wählen Sie eine der Antworten.")
                continue
            option_ids.append(choice)
        elif question.kind == "multiple":
            values = raw if isinstance(raw, list) else [raw]
            choices = [_as_int(v) for v in values]
            if any(c not in options for c in choices) or len(set(choices)) != len(choices):
                errors[field] = _l("Bitte wählen Sie nur Antworten aus der Liste.")
                continue
            if question.max_choices and len(choices) > question.max_choices:
                errors[field] = _l("Bitte wählen Sie höchstens %(max)s Antworten.", max=question.max_choices)
                continue
            option_ids.extend(c for c in choices if c is not None)
        elif question.kind == "rating":
            value = _as_int(raw)
            match = [o.id for o in question.options if o.value == value]
            if not match:
                errors[field] = _l("Bitte wählen Sie eine Bewertung von 1 bis 5.")
                continue
            option_ids.append(match[0])
        else:
            if not isinstance(raw, str):
                errors[field] = _l("Bitte geben Sie Text ein.")
                continue
            text = raw.strip()
            if len(text) > MAX_TEXT_ANSWER:
                errors[field] = _l("Der Text ist zu lang (höchstens %(limit)s Zeichen).", limit=MAX_TEXT_ANSWER)
                continue
            if not text:
                if question.required:
                    errors[field] = _l("Bitte beantworten Sie diese Frage.")
                continue
            texts.append((question.id, text))
        answered.append(question.id)
    if errors:
        raise Invalid(fields=errors)
    if not answered:
        raise Invalid(fields={"answers": _l("Bitte beantworten Sie mindestens eine Frage.")})
    return ParsedBallot(sorted(option_ids), texts, sorted(answered))


def receipt_hash(poll_id: int, receipt: str) -> str:
    return sha256(f"receipt:{poll_id}:{normalize_code(receipt)}")


def cast_ballot(poll_id: int, answers: dict[str, Any], *, code: str | None = None,
                token: str | None = None) -> str:
    """Count one ballot and return the receipt code (shown once to the voter)."""
    receipt = random_code(RECEIPT_LENGTH)
    with write_transaction():
        # the poll's row lock: ballots of one poll (and question edits) commit one after the other
        locked = db.session.execute(
            update(Poll).where(Poll.id == poll_id).values(ballot_count=Poll.ballot_count + 1)
        ).rowcount
        if not locked:
            raise NotFound()
        poll = db.session.scalars(
            select(Poll).where(Poll.id == poll_id)
            .options(selectinload(Poll.questions).selectinload(Question.options))
            .execution_options(populate_existing=True)
        ).one()
        if poll.status(now()) != "open":
            raise Conflict(_l("Die Umfrage ist nicht geöffnet: Es kann nicht abgestimmt werden."), code="poll_closed")
        errors: dict[str, Any] = {}
        marker = parsed = None
        try:
            marker = _participation_marker(poll, code, token)
        except Invalid as exc:
            errors.update(exc.fields)
        try:
            parsed = validate_answers(list(poll.questions), answers)
        except Invalid as exc:
            errors.update(exc.fields)
        if errors or parsed is None:
            raise Invalid(fields=errors)
        if marker is not None:
            db.session.add(Participation(poll_id=poll.id, kind=marker[0], marker=marker[1]))
            try:
                db.session.flush()
            except IntegrityError:
                raise _already_voted() from None
        ballot_id = random_id()
        db.session.execute(insert(Ballot), [{"id": ballot_id, "poll_id": poll.id}])
        if parsed.option_ids:
            db.session.execute(insert(BallotChoice), [{"ballot_id": ballot_id, "option_id": o}
                                                      for o in parsed.option_ids])
            # one statement per table; no lock-order deadlock: every ballot holds the poll row first
            db.session.execute(update(Option).where(Option.id.in_(parsed.option_ids))
                               .values(votes=Option.votes + 1).execution_options(synchronize_session=False))
        for question_id, text in parsed.texts:
            db.session.add(TextAnswer(ballot_id=ballot_id, question_id=question_id, text=text))
        db.session.execute(update(Question).where(Question.id.in_(parsed.answered))
                           .values(answered=Question.answered + 1).execution_options(synchronize_session=False))
        db.session.add(Receipt(receipt_hash=receipt_hash(poll.id, receipt), poll_id=poll.id))
    return receipt


def _already_voted() -> Conflict:
    return Conflict(_l("Mit diesem Code oder dieser E-Mail-Adresse wurde schon abgestimmt. "
                       "Jede Person kann nur einmal abstimmen."), code="already_voted")


def _participation_marker(poll: Poll, code: str | None, token: str | None) -> tuple[str, str] | None:
    if poll.mode == "open":
        return None
    if poll.mode == "codes":
        if not code or not normalize_code(code) or len(code) > 40:
            raise Invalid(fields={"code": _l("Bitte geben Sie Ihren Einladungscode ein.")})
        digest = code_hash(code)
        known = db.session.scalar(select(InvitationCode.code_hash).where(
            InvitationCode.code_hash == digest, InvitationCode.poll_id == poll.id))
        if known is None:
            raise Invalid(fields={"code": _l(
                "Dieser Code ist für diese Umfrage nicht gültig. Bitte prüfen Sie die Eingabe.")})
        if db.session.scalar(select(Participation.id).where(Participation.poll_id == poll.id,
                                                            Participation.marker == digest)):
            raise _already_voted()
        return ("code", digest)
    # email: a one-time link
    row = db.session.get(EmailToken, sha256(token)) if token and len(token) <= 100 else None
    if row is None or row.purpose != "vote" or row.target_id != poll.id or row.expires_at <= now():
        raise Conflict(_l("Der Link ist ungültig, abgelaufen oder wurde schon benutzt. "
                          "Bitte fordern Sie einen neuen Link an."), code="link_invalid")
    marker = row.email_hash
    db.session.execute(delete(EmailToken).where(EmailToken.email_hash == marker, EmailToken.purpose == "vote",
                                                EmailToken.target_id == poll.id))
    if db.session.scalar(select(Participation.id).where(Participation.poll_id == poll.id,
                                                        Participation.marker == marker)):
        raise _already_voted()
    return ("email", marker)


def check_receipt(poll: Poll, receipt: str) -> bool:
    if not receipt or len(receipt) > 40:
        return False
    return db.session.get(Receipt, receipt_hash(poll.id, receipt)) is not None


def receipt_hashes(poll: Poll) -> list[str]:
    """The published receipt list: sorted hashes, so the order reveals nothing."""
    return list(db.session.scalars(select(Receipt.receipt_hash).where(Receipt.poll_id == poll.id)
                                   .order_by(Receipt.receipt_hash)))
