"""Polls and their questions.

Rules:
* only ``poll_admin`` users reach these functions (views check the role; the actor is passed);
* the slug is unique (``locks.poll_slugs``); the poll closes after it opens;
* a single or multiple choice question has at least two answers, and as many English answers as
  German ones if any; ``max_choices`` is at most the number of answers;
* opening and closing are computed from the times (``Poll.status(now)``), nothing flips a flag;
* questions (and the participation mode) are frozen once a ballot exists; an edit updates the
  poll's row (a new random ``revision``) before it checks for ballots: the update waits for the
  ballot transactions that hold the row ``FOR SHARE``, and a ballot that starts later sees the new
  revision and checks its answers again, so a ballot and an edit never interleave;
* a rating question always has the five options 1–5;
* archiving counts the pending ballots, then deletes the email hashes, open email links and the
  email salt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import id_or_none

from ..models import RATING_VALUES, Ballot, EmailToken, Option, Participation, Poll, Question, random_id
from ..schemas import PollInput, QuestionInput
from . import ballot_batches, results
from .common import now as utc_now


def get_poll(poll_id: int) -> Poll:
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        raise NotFound()
    return poll


def get_public_poll(slug_or_id: str | int) -> Poll:
    """A published, not archived poll by slug (or id for the API)."""
    poll_id = id_or_none(slug_or_id)
    if poll_id is not None:
        poll = db.session.get(Poll, poll_id)
    else:
        poll = db.session.scalar(select(Poll).where(Poll.slug == slug_or_id))
    if poll is None or not poll.published or poll.archived_at is not None:
        raise NotFound()
    return poll


def public_polls(now: datetime | None = None) -> dict[str, list[Poll]]:
    """Published polls grouped by status: open, scheduled, closed."""
    moment = now or utc_now()
    polls = db.session.scalars(
        select(Poll).where(Poll.published.is_(True), Poll.archived_at.is_(None)).order_by(Poll.closes_at.desc())
    ).all()
    groups: dict[str, list[Poll]] = {"open": [], "scheduled": [], "closed": []}
    for poll in polls:
        groups[poll.status(moment)].append(poll)
    return groups


def all_polls() -> list[Poll]:
    return list(db.session.scalars(select(Poll).order_by(Poll.created_at.desc(), Poll.id.desc())))


def _slug_taken(slug: str, except_id: int | None = None) -> bool:
    query = select(Poll.id).where(Poll.slug == slug)
    if except_id is not None:
        query = query.where(Poll.id != except_id)
    return db.session.scalar(query) is not None


def _check_times(data: PollInput) -> None:
    if data.closes_at <= data.opens_at:
        raise Invalid(fields={"closes_at": _l("Das Ende muss nach dem Beginn liegen.")})


def create_poll(data: PollInput, actor_id: int | None) -> Poll:
    _check_times(data)
    with write_transaction(locks.poll_slugs()):
        if _slug_taken(data.slug):
            raise Invalid(fields={"slug": _l("Diese Adresse ist schon vergeben.")})
        poll = Poll(
            slug=data.slug, title=data.title, description=data.description, mode=data.mode,
            results_visibility=data.results_visibility, opens_at=data.opens_at, closes_at=data.closes_at,
            published=data.published, created_by_id=actor_id, min_ballots_live=data.min_ballots_live,
        )
        db.session.add(poll)
    return poll


def _lock_poll(poll_id: int) -> Poll:
    """Lock the poll's row (every ballot reads it FOR SHARE), give it a new revision (ballots checked
    against the old one check again; cached results are dropped) and return the fresh poll."""
    db.session.execute(update(Poll).where(Poll.id == poll_id).values(revision=random_id()))
    poll = db.session.get(Poll, poll_id, populate_existing=True)
    if poll is None:
        raise NotFound()
    return poll


def has_ballots(poll_id: int) -> bool:
    """A ballot was cast: counted or still pending (``ballot_batches``)."""
    return (db.session.scalar(select(Ballot.id).where(Ballot.poll_id == poll_id).limit(1)) is not None
            or ballot_batches.has_pending(poll_id))


def _require_no_ballots(poll: Poll) -> None:
    if has_ballots(poll.id):
        raise Conflict(_l("Es wurde schon abgestimmt: Die Fragen können nicht mehr geändert werden."),
                       code="poll_frozen")


def update_poll(poll_id: int, data: PollInput) -> Poll:
    _check_times(data)
    with write_transaction(locks.poll_slugs(), locks.poll(poll_id)):
        poll = _lock_poll(poll_id)
        if poll.archived_at is not None:
            raise Conflict(_l("Die Umfrage ist archiviert."), code="poll_archived")
        if _slug_taken(data.slug, poll.id):
            raise Invalid(fields={"slug": _l("Diese Adresse ist schon vergeben.")})
        if data.mode != poll.mode and has_ballots(poll.id):
            raise Invalid(fields={"mode": _l(
                "Die Art der Teilnahme kann nach der ersten Stimme nicht mehr geändert werden.")})
        poll.slug = data.slug
        poll.title = data.title
        poll.description = data.description
        poll.mode = data.mode
        poll.results_visibility = data.results_visibility
        poll.min_ballots_live = data.min_ballots_live
        poll.opens_at = data.opens_at
        poll.closes_at = data.closes_at
        poll.published = data.published
    return poll


def _check_options(data: QuestionInput) -> None:
    if data.kind not in ("single", "multiple"):
        return
    if len(data.options_de) < 2:
        raise Invalid(fields={"options_de": _l("Bitte geben Sie mindestens zwei Antworten an, eine pro Zeile.")})
    if data.options_en and len(data.options_en) != len(data.options_de):
        raise Invalid(fields={"options_en": _l("Bitte geben Sie gleich viele englische wie deutsche Antworten an.")})
    if data.kind == "multiple" and data.max_choices and data.max_choices > len(data.options):
        raise Invalid(fields={"max_choices": _l("Das Höchstmaß ist größer als die Zahl der Antworten.")})


def add_question(poll_id: int, data: QuestionInput) -> Question:
    _check_options(data)
    with write_transaction(locks.poll(poll_id)):
        poll = _lock_poll(poll_id)
        _require_no_ballots(poll)
        position = max((q.position for q in poll.questions), default=0) + 1
        question = Question(
            poll=poll, position=position, kind=data.kind, text=data.text,
            max_choices=data.max_choices if data.kind == "multiple" else None, required=data.required,
        )
        if data.kind == "rating":
            question.options = [Option(position=v, value=v, label={"de": str(v)}) for v in RATING_VALUES]
        elif data.kind in ("single", "multiple"):
            question.options = [Option(position=i, label=label) for i, label in enumerate(data.options, 1)]
        db.session.add(question)
    return question


def delete_question(poll_id: int, question_id: int) -> None:
    with write_transaction(locks.poll(poll_id)):
        poll = _lock_poll(poll_id)
        _require_no_ballots(poll)
        question = db.session.get(Question, question_id)
        if question is None or question.poll_id != poll.id:
            raise NotFound()
        db.session.delete(question)


def archive_poll(poll_id: int) -> Poll:
    """Archive a closed poll: count its pending ballots, delete email hashes and links; results
    stay for the admins."""
    ballot_batches.settle(get_poll(poll_id))
    with write_transaction(locks.poll(poll_id)):
        poll = _lock_poll(poll_id)
        if poll.status(utc_now()) in ("open", "scheduled") and poll.published:
            raise Conflict(_l("Eine laufende Umfrage kann nicht archiviert werden."), code="poll_not_closed")
        db.session.execute(delete(Participation).where(Participation.poll_id == poll.id,
                                                       Participation.kind == "email"))
        db.session.execute(delete(EmailToken).where(EmailToken.purpose == "vote", EmailToken.target_id == poll.id))
        poll.email_salt = None
        if poll.archived_at is None:
            poll.archived_at = utc_now()
    return poll


def results_visible(poll: Poll, *, is_admin: bool, now: datetime | None = None, ballots: int | None = None) -> bool:
    """Who sees results when: admins always; "live" while open only from ``min_ballots_live`` counted
    ballots on (default 10: a handful of votes would tell who voted what), and after the close; "after_close"
    after the close; otherwise nobody. ``ballots``: the count if the caller has it (else one read)."""
    if is_admin:
        return True
    if poll.results_visibility == "live":
        status = poll.status(now or utc_now())
        if status == "open":
            count = results.ballot_total(poll.id) if ballots is None else ballots
            return count >= poll.min_ballots_live
        return status == "closed"
    if poll.results_visibility == "after_close":
        return poll.status(now or utc_now()) == "closed"
    return False
