"""The poll and suggestion events other software can subscribe to (signed webhooks,
``citizen_portal.core.webhooks``).

Rules: a poll opens and closes by its times (nothing flips a flag), so ``poll.opened`` / ``poll.closed``
are announced by the worker's job "polls.announce" once per poll and time (the event key), for
transitions of the last ``ANNOUNCE_WINDOW_DAYS`` (a worker that was down catches up; older ones are
not announced after the fact). ``suggestion.status_changed`` is emitted in the transaction of the
status change. Payloads carry ids, slugs, statuses and times: nothing personal. Scope ``polls.read``
(all of it is public on the site)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.webhooks import EventType, emit_event, iso

from ..models import Poll, Suggestion
from .common import now as current_time

ANNOUNCE_WINDOW_DAYS = 7

EVENT_TYPES = (
    EventType("poll.opened", "polls.read", _l("Eine Beteiligung hat begonnen.")),
    EventType("poll.closed", "polls.read", _l("Eine Beteiligung ist beendet.")),
    EventType("suggestion.status_changed", "polls.read", _l("Der Status eines Vorschlags hat sich geändert.")),
)


def _poll_data(poll: Poll) -> dict:
    return {"id": poll.id, "slug": poll.slug, "opens_at": iso(poll.opens_at), "closes_at": iso(poll.closes_at)}


def announce_poll_transitions(now: datetime | None = None) -> int:
    """The job "polls.announce": emit ``poll.opened`` / ``poll.closed`` for published polls whose
    opening / closing time passed within the window and was not announced yet. Returns the count."""
    moment = now or current_time()
    since = moment - timedelta(days=ANNOUNCE_WINDOW_DAYS)
    count = 0
    with write_transaction(locks.webhooks()):
        opened = (Poll.opens_at > since) & (Poll.opens_at <= moment)
        closed = (Poll.closes_at > since) & (Poll.closes_at <= moment)
        polls = db.session.scalars(select(Poll).where(Poll.published.is_(True), Poll.archived_at.is_(None),
                                                      opened | closed))
        for poll in polls:
            for kind, at in (("opened", poll.opens_at), ("closed", poll.closes_at)):
                if since < at <= moment and emit_event(f"poll.{kind}", _poll_data(poll), now=moment,
                                                       key=f"poll.{kind}:{poll.id}:{int(at.timestamp())}"):
                    count += 1
    return count


def emit_suggestion_status(suggestion: Suggestion, previous: str) -> None:
    """In the caller's transaction: the suggestion's status changed from ``previous``."""
    emit_event("suggestion.status_changed", {"id": suggestion.id, "status": suggestion.status,
                                             "previous_status": previous})
