"""Test data for polls: a poll with one question of each kind, codes, helpers to vote."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from citizen_portal.core.extensions import db
from polls.models import Poll
from polls.schemas import PollInput, QuestionInput
from polls.services import participation
from polls.services import polls as poll_service
from polls.services.common import now
from tests.factories import log_in_session

_counter = itertools.count(1)


def make_poll(mode: str = "codes", visibility: str = "live", *, questions: bool = True, published: bool = True,
              opens_in: timedelta = timedelta(days=-1), closes_in: timedelta = timedelta(days=7),
              min_ballots_live: int = 0) -> Poll:
    """A poll; ``min_ballots_live`` is 0 here (not the default 10) so tests see live results at once."""
    moment = now()
    poll = poll_service.create_poll(PollInput(
        slug=f"umfrage-{next(_counter)}", title_de="Testumfrage", title_en="Test poll",
        description_de="Beschreibung", description_en="Description", mode=mode, results_visibility=visibility,
        opens_at=moment + opens_in, closes_at=moment + closes_in, published=published,
        min_ballots_live=min_ballots_live,
    ), None)
    if questions:
        poll_service.add_question(poll.id, QuestionInput(
            kind="single", text_de="Welche Farbe?", text_en="Which colour?",
            options_de=("Rot", "Grün", "Blau"), options_en=("Red", "Green", "Blue"), required=True))
        poll_service.add_question(poll.id, QuestionInput(
            kind="multiple", text_de="Welche Tage?", text_en="Which days?",
            options_de=("Mo", "Di", "Mi"), options_en=("Mon", "Tue", "Wed"), max_choices=2))
        poll_service.add_question(poll.id, QuestionInput(kind="rating", text_de="Wie gut?", text_en="How good?"))
        poll_service.add_question(poll.id, QuestionInput(kind="text", text_de="Anmerkungen?", text_en="Comments?"))
    return db.session.get(Poll, poll.id)


def codes_for(poll: Poll, count: int = 3) -> list[str]:
    return participation.batch_codes(participation.generate_codes(poll.id, count))


def answers(poll: Poll, single: int = 0, multiple: tuple[int, ...] = (0,), rating: int = 4,
            text: str | None = "Mehr Bänke") -> dict[str, Any]:
    """API-style answers: option ids by index into each question's options."""
    single_q, multiple_q, rating_q, text_q = poll.questions[:4]
    result: dict[str, Any] = {
        str(single_q.id): single_q.options[single].id,
        str(multiple_q.id): [multiple_q.options[i].id for i in multiple],
        str(rating_q.id): rating,
    }
    if text is not None:
        result[str(text_q.id)] = text
    return result


def form_answers(poll: Poll, **kw: Any) -> dict[str, Any]:
    """The same answers as HTML form fields ``q<id>``."""
    data: dict[str, Any] = {}
    for key, value in answers(poll, **kw).items():
        data[f"q{key}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def close(poll: Poll) -> None:
    poll.opens_at = now() - timedelta(days=3)
    poll.closes_at = now() - timedelta(minutes=1)
    db.session.commit()


def login_as(client, user) -> None:
    with client.session_transaction() as session:
        log_in_session(session, user)


def count_ballots(poll_or_id: Poll | int) -> int:
    """Write every pending ballot of the poll now (a shuffled batch, as the worker would at the
    close), so a test can read results and receipts right after voting."""
    from polls.services import ballot_batches

    return ballot_batches.flush_until_done(poll_or_id if isinstance(poll_or_id, int) else poll_or_id.id, minimum=0)


def counted_total(poll: Poll) -> int:
    """The poll's ballot count once every pending ballot is counted."""
    from polls.services import results

    count_ballots(poll)
    return results.ballot_total(poll.id)
