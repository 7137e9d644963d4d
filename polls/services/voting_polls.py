"""What casting a ballot needs of a poll, kept per process (issue 13).

Rules:
* a ``VotingPoll`` holds plain values of one ``revision`` of a poll: mode, slug, the status
  columns, the questions and their answer model (``schemas.answers_model``); every change of the
  poll, its questions or its mode gives the poll a new revision (``services.polls``);
* ``voting_poll`` returns this process's copy, or reads the poll in one statement (the questions
  together with the revision they belong to) and keeps that; at most ``COPIES_KEPT`` polls;
* a copy decides nothing by itself: the ballot's write transaction reads the poll row and compares
  the revision and the status (``services.ballots``), and an error is answered only from a copy read
  in the same request (``fresh``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from citizen_portal.core.extensions import db
from citizen_portal.core.schemas import Schema

from ..models import Mode, Option, Poll, Question
from ..schemas import FormQuestion, answers_model

COPIES_KEPT = 512


@dataclass(frozen=True)
class VotingPoll:
    """A poll as casting needs it, as plain values of one ``revision``. The status columns are the
    copy's; the write transaction reads them again."""

    id: int
    revision: str
    slug: str
    mode: str
    published: bool
    archived_at: datetime | None
    opens_at: datetime
    closes_at: datetime
    questions: tuple[FormQuestion, ...]
    answers: type[Schema]  # ``schemas.answers_model`` of the questions

    @property
    def anyone_may_vote(self) -> bool:
        return self.mode == Mode.ANYONE

    def status(self, moment: datetime) -> str:
        return Poll.status(self, moment)  # type: ignore[arg-type]  # reads only the four status columns


_VOTING_POLL = (
    select(Poll.revision, Poll.slug, Poll.mode, Poll.published, Poll.archived_at, Poll.opens_at, Poll.closes_at,
           Question.id, Question.kind, Question.required, Question.max_choices, Option.id, Option.value)
    .select_from(Poll).outerjoin(Question, Question.poll_id == Poll.id)
    .outerjoin(Option, Option.question_id == Question.id)
    .where(Poll.id == bindparam("poll_id")).order_by(Question.position, Question.id, Option.position, Option.id)
)


def voting_poll(poll_id: int, *, fresh: bool = False) -> VotingPoll | None:
    """The poll as casting needs it (None: no such poll): this process's copy, or (``fresh``, or no
    copy kept) read now in one statement and kept."""
    copies: dict[int, VotingPoll] = current_app.extensions.setdefault("polls.voting_polls", {})
    if not fresh and (kept := copies.get(poll_id)) is not None:
        return kept
    rows = db.session.execute(_VOTING_POLL, {"poll_id": poll_id}).all()
    if not rows:
        copies.pop(poll_id, None)
        return None
    questions: dict[int, dict[str, Any]] = {}
    for *_poll, question_id, kind, required, max_choices, option_id, value in rows:
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
    revision, slug, mode, published, archived_at, opens_at, closes_at = rows[0][:7]
    poll = VotingPoll(poll_id, revision, slug, mode, bool(published), archived_at, opens_at, closes_at, typed,
                      answers_model(typed))
    if len(copies) >= COPIES_KEPT:
        copies.clear()
    copies[poll_id] = poll
    return poll
