"""Periodic jobs of polls, run by the worker. Opening and closing need no job: they are computed
from the poll's times. The jobs here delete personal data on schedule:

* ``polls.archive``: polls closed for ``POLLS_ARCHIVE_AFTER_DAYS`` (default 30) are archived, which
  deletes their email hashes, open links and the email salt;
* ``polls.purge_tokens``: expired one-time links are deleted;
* ``polls.unconfirmed_suggestions``: ideas whose address was not confirmed within
  ``POLLS_UNCONFIRMED_SUGGESTION_HOURS`` (default 48) are deleted, with their address;
* ``polls.ballot_batches``: pending ballots are counted in shuffled batches (``ballot_batches``;
  a poll that closed gets its last batch here).
* ``polls.announce``: the webhook events of polls that opened or closed (``services/webhook_events.py``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import register_job
from citizen_portal.core.webhooks import register_event_type

from .models import Poll
from .services import ballot_batches, suggestions, webhook_events
from .services import polls as poll_service
from .services.common import now


def archive_closed_polls() -> int:
    days = int(current_app.config["POLLS_ARCHIVE_AFTER_DAYS"])
    limit = now() - timedelta(days=days)
    ids = list(db.session.scalars(select(Poll.id).where(Poll.archived_at.is_(None), Poll.closes_at <= limit)))
    for poll_id in ids:
        poll_service.archive_poll(poll_id)
    return len(ids)


def register(app: Flask) -> None:
    register_job(app, "polls.archive", archive_closed_polls, every_seconds=3600)
    register_job(app, "polls.purge_tokens", suggestions.purge_expired_tokens, every_seconds=3600)
    register_job(app, "polls.unconfirmed_suggestions", suggestions.delete_unconfirmed, every_seconds=3600)
    register_job(app, "polls.ballot_batches", ballot_batches.flush_all, every_seconds=60)
    register_job(app, "polls.announce", webhook_events.announce_poll_transitions, every_seconds=60, order=14)
    for event_type in webhook_events.EVENT_TYPES:  # poll and suggestion events for webhooks
        register_event_type(app, event_type)
