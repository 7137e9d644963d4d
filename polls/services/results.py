"""Results: read from the sharded counters, so the page costs the same at 10 or 100,000 ballots.

Rules:
* percentages of a choice question are relative to the ballots that answered the question
  (a multiple-choice question can sum to more than 100 %);
* the rating average is the weighted mean of the five counters;
* free-text answers are public only once a moderator published them;
* only counted ballots are in the results: a ballot counts once its shuffled batch is written
  (``ballot_batches``); the results of a poll that is no longer open are settled first, so they
  hold every ballot;
* ``recount`` recomputes everything from the ballots with one GROUP BY and reports differences;
* ``cached``: a per-process cache of anything built from the results (the rendered HTML fragment,
  the JSON body), keyed by poll and language and valid for one *version* = (poll revision, number of
  ballots). Every batch of ballots raises the ballot count and every edit or moderation gives the poll a
  new random revision, so a cached value is never served for a changed result. The version check
  is one indexed query. Visibility is the caller's job, before it asks the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import current_language, localized
from citizen_portal.core.schemas import id_or_none

from ..models import (
    TALLY_ANSWERED,
    TALLY_BALLOTS,
    TALLY_VOTES,
    Ballot,
    BallotChoice,
    Option,
    Poll,
    Question,
    Tally,
    TextAnswer,
    random_id,
)
from . import ballot_batches
from .common import now

T = TypeVar("T")
CACHE_SIZE = 256


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


def tallies(poll_id: int) -> dict[tuple[int, int], int]:
    """All counters of a poll, summed over the shards, read in one statement (one snapshot)."""
    rows = db.session.execute(select(Tally.kind, Tally.ref, func.sum(Tally.n))
                              .where(Tally.poll_id == poll_id).group_by(Tally.kind, Tally.ref))
    return {(kind, ref): int(total) for kind, ref, total in rows}


def ballot_total(poll_id: int) -> int:
    """The number of ballots: one indexed range read of at most ``TALLY_SHARDS`` rows."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Tally.n), 0))
                                 .where(Tally.poll_id == poll_id, Tally.kind == TALLY_BALLOTS)))


def public_poll_with_ballots(slug_or_id: str | int, *, settled: bool = False) -> tuple[Poll, int]:
    """A published, not archived poll (as ``polls.get_public_poll``) together with its ballot count,
    the version of its results, in one statement; a poll that is no longer open is settled first
    (its last batch written), so its results are final."""
    total = (select(func.coalesce(func.sum(Tally.n), 0))
             .where(Tally.poll_id == Poll.id, Tally.kind == TALLY_BALLOTS).scalar_subquery())
    poll_id = id_or_none(slug_or_id)
    condition = Poll.id == poll_id if poll_id is not None else Poll.slug == slug_or_id
    row = db.session.execute(select(Poll, total).where(condition)).first()
    if row is None or not row[0].published or row[0].archived_at is not None:
        raise NotFound()
    if not settled and row[0].status(now()) != "open" and ballot_batches.has_pending(row[0].id):
        ballot_batches.settle(row[0])  # final results: the last batch first
        return public_poll_with_ballots(slug_or_id, settled=True)
    return row[0], int(row[1])


def ballot_totals() -> dict[int, int]:
    """Ballots per poll, for the admin overview."""
    rows = db.session.execute(select(Tally.poll_id, func.sum(Tally.n)).where(Tally.kind == TALLY_BALLOTS)
                              .group_by(Tally.poll_id))
    return {poll_id: int(total) for poll_id, total in rows}


def poll_results(poll_id: int, *, include_texts: bool = True) -> PollResults:
    poll = db.session.scalars(
        select(Poll).where(Poll.id == poll_id)
        .options(selectinload(Poll.questions).selectinload(Question.options))
    ).one_or_none()
    if poll is None:
        raise NotFound()
    counts = tallies(poll_id)
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
        base = counts.get((TALLY_ANSWERED, question.id), 0)
        result = QuestionResult(question.id, question.kind, localized(question.text), base)
        weighted = 0
        for option in question.options:
            votes = counts.get((TALLY_VOTES, option.id), 0)
            label = str(option.value) if option.value is not None else localized(option.label)
            percent = round(100.0 * votes / base, 1) if base else 0.0
            result.options.append(OptionResult(option.id, label, option.value, votes, percent))
            weighted += (option.value or 0) * votes
        if question.kind == "rating" and base:
            result.average = round(weighted / base, 2)
        result.texts = published.get(question.id, [])
        results.append(result)
    return PollResults(poll.id, counts.get((TALLY_BALLOTS, 0), 0), poll.anyone_may_vote, results)


class ResultsCache:
    """A small LRU of (key) → (version, value), shared by the threads of one process."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, version: tuple) -> Any | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, version: tuple, value: Any) -> None:
        with self.lock:
            self.entries[key] = (version, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


def results_cache() -> ResultsCache:
    return current_app.extensions.setdefault("polls.results_cache", ResultsCache())


def cached(poll: Poll, name: str, build: Callable[[PollResults], T], *, ballots: int | None = None) -> T:
    """``build(poll_results(poll.id))``, cached per (poll, name, language) for the current version.

    ``ballots``: the ballot count if the caller read it with the poll (else one query here). The
    value is stored under the ballot count read in the same statement as the counters it was built
    from, so it always matches its version exactly."""
    key = (poll.id, name, current_language())
    revision = poll.revision
    cache = results_cache()
    value = cache.get(key, (revision, ballot_total(poll.id) if ballots is None else ballots))
    if value is None:
        data = poll_results(poll.id)
        value = build(data)
        cache.put(key, (revision, data.ballots), value)
    return value


def recount(poll_id: int) -> dict[str, int]:
    """Differences between the counters and the ballots (empty when everything matches)."""
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        raise NotFound()
    counts = tallies(poll_id)
    differences: dict[str, int] = {}
    ballots = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.poll_id == poll_id))
    if ballots != counts.get((TALLY_BALLOTS, 0), 0):
        differences["ballots"] = ballots - counts.get((TALLY_BALLOTS, 0), 0)
    counted = dict(db.session.execute(
        select(BallotChoice.option_id, func.count()).join(Option, Option.id == BallotChoice.option_id)
        .join(Question, Question.id == Option.question_id).where(Question.poll_id == poll_id)
        .group_by(BallotChoice.option_id)
    ).all())
    for question in poll.questions:
        for option in question.options:
            stored = counts.get((TALLY_VOTES, option.id), 0)
            if counted.get(option.id, 0) != stored:
                differences[f"option:{option.id}"] = counted.get(option.id, 0) - stored
    return differences


def text_answers(poll_id: int, moderation: str | None = None) -> list[TextAnswer]:
    query = (select(TextAnswer).join(Question, Question.id == TextAnswer.question_id)
             .where(Question.poll_id == poll_id).order_by(TextAnswer.moderation, TextAnswer.text))
    if moderation:
        query = query.where(TextAnswer.moderation == moderation)
    return list(db.session.scalars(query))


def moderate_text_answer(poll_id: int, answer_id: str, decision: str) -> None:
    """Publish, reject or reset a free-text answer (``schemas.TextModerationInput``); published
    texts are part of the results."""
    with write_transaction(locks.poll_moderation(poll_id)):
        answer = db.session.get(TextAnswer, answer_id)
        question = db.session.get(Question, answer.question_id) if answer else None
        if answer is None or question is None or question.poll_id != poll_id:
            raise NotFound()
        db.session.execute(update(TextAnswer).where(TextAnswer.id == answer_id).values(moderation=decision))
        # published texts are part of the results: a new revision invalidates cached results
        db.session.execute(update(Poll).where(Poll.id == poll_id).values(revision=random_id()))
