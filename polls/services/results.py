"""Results: read from the per-option counters, so the page costs the same at 10 or 100,000 ballots.

Rules:
* percentages of a choice question are relative to the ballots that answered the question
  (a multiple-choice question can sum to more than 100 %);
* the rating average is the weighted mean of the five counters;
* free-text answers are public only once a moderator published them;
* ``recount`` recomputes everything from the ballots with one GROUP BY and reports differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from citizen_portal.database import write_transaction
from citizen_portal.errors import Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l, localized

from ..models import Ballot, BallotChoice, Option, Poll, Question, TextAnswer


@dataclass
class OptionResult:
    option_id: int
    label: str
    value: int | None
    votes: int
    percent: float


@dataclass
class QuestionResult:
    question_id: int
    kind: str
    text: str
    answered: int
    options: list[OptionResult] = field(default_factory=list)
    average: float | None = None
    texts: list[str] = field(default_factory=list)


@dataclass
class PollResults:
    poll_id: int
    ballots: int
    informal: bool
    questions: list[QuestionResult]


def poll_results(poll_id: int, *, include_texts: bool = True) -> PollResults:
    poll = db.session.scalars(
        select(Poll).where(Poll.id == poll_id)
        .options(selectinload(Poll.questions).selectinload(Question.options))
    ).one_or_none()
    if poll is None:
        raise NotFound()
    published: dict[int, list[str]] = {}
    text_questions = [q.id for q in poll.questions if q.kind == "text"]
    if include_texts and text_questions:
        rows = db.session.execute(
            select(TextAnswer.question_id, TextAnswer.text)
            .where(TextAnswer.question_id.in_(text_questions), TextAnswer.moderation == "published")
            .order_by(TextAnswer.text)
        )
        for question_id, text in rows:
            published.setdefault(question_id, []).append(text)
    results = []
    for question in poll.questions:
        result = QuestionResult(question.id, question.kind, localized(question.text), question.answered)
        base = question.answered or 0
        for option in question.options:
            label = str(option.value) if option.value is not None else localized(option.label)
            percent = round(100.0 * option.votes / base, 1) if base else 0.0
            result.options.append(OptionResult(option.id, label, option.value, option.votes, percent))
        if question.kind == "rating" and base:
            result.average = round(sum((o.value or 0) * o.votes for o in question.options) / base, 2)
        result.texts = published.get(question.id, [])
        results.append(result)
    return PollResults(poll.id, poll.ballot_count, poll.mode == "open", results)


def recount(poll_id: int) -> dict[str, int]:
    """Differences between the counters and the ballots (empty when everything matches)."""
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        raise NotFound()
    differences: dict[str, int] = {}
    ballots = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.poll_id == poll_id))
    if ballots != poll.ballot_count:
        differences["ballots"] = ballots - poll.ballot_count
    counted = dict(db.session.execute(
        select(BallotChoice.option_id, func.count()).join(Option, Option.id == BallotChoice.option_id)
        .join(Question, Question.id == Option.question_id).where(Question.poll_id == poll_id)
        .group_by(BallotChoice.option_id)
    ).all())
    for question in poll.questions:
        for option in question.options:
            if counted.get(option.id, 0) != option.votes:
                differences[f"option:{option.id}"] = counted.get(option.id, 0) - option.votes
    return differences


def text_answers(poll_id: int, moderation: str | None = None) -> list[TextAnswer]:
    query = (select(TextAnswer).join(Question, Question.id == TextAnswer.question_id)
             .where(Question.poll_id == poll_id).order_by(TextAnswer.moderation, TextAnswer.text))
    if moderation:
        query = query.where(TextAnswer.moderation == moderation)
    return list(db.session.scalars(query))


def moderate_text_answer(poll_id: int, answer_id: str, decision: str) -> None:
    if decision not in ("published", "rejected", "pending"):
        raise Invalid(fields={"decision": _l("Unbekannte Entscheidung.")})
    with write_transaction(f"poll-moderation:{poll_id}"):
        answer = db.session.get(TextAnswer, answer_id)
        question = db.session.get(Question, answer.question_id) if answer else None
        if answer is None or question is None or question.poll_id != poll_id:
            raise NotFound()
        db.session.execute(update(TextAnswer).where(TextAnswer.id == answer_id).values(moderation=decision))
