"""Personal iCal feed: a secret URL per person listing their desk and room bookings.

Only the SHA-256 of the token is stored; the URL is shown once, on creation. Creating a new one
replaces (revokes) the old one; revoking deletes it. The feed is a VCALENDAR without METHOD from
``staff_calendar.services.personal_feed``; desk events are TRANSPARENT, room bookings name the room as
``ATTENDEE;CUTYPE=ROOM``. Every event carries its booking's creation time as DTSTAMP/LAST-MODIFIED, so
the bytes (and the view's ETag) change only when a booking does."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import utc_now
from citizen_portal.core.security import new_token, token_hash
from staff_calendar import services as calendar
from staff_calendar.spaces.models import FeedToken
from staff_calendar.spaces.services import desks, rooms
from staff_calendar.spaces.services.common import Actor, today_local

FEED_PAST_DAYS = 30
FEED_NAME = "Arbeitsplätze und Räume"


def create_feed_token(actor: Actor) -> str:
    """A new secret for the actor's feed (the old one stops working). Returns the token."""
    token = new_token(32)
    with write_transaction(locks.feed(actor.id)):
        db.session.execute(delete(FeedToken).where(FeedToken.user_id == actor.id))
        db.session.add(FeedToken(user_id=actor.id, token_hash=token_hash(token)))
    return token


def revoke_feed_token(actor: Actor) -> None:
    with write_transaction(locks.feed(actor.id)):
        db.session.execute(delete(FeedToken).where(FeedToken.user_id == actor.id))


def has_feed(actor: Actor) -> bool:
    return db.session.execute(select(FeedToken.id).where(FeedToken.user_id == actor.id)).first() is not None


def feed_for_token(token: str) -> bytes:
    """The iCalendar bytes of the feed that ``token`` opens; NotFound for unknown/revoked tokens."""
    if not token or len(token) > 200:
        raise NotFound()
    user_id = db.session.execute(
        select(FeedToken.user_id).where(FeedToken.token_hash == token_hash(token))).scalar_one_or_none()
    if user_id is None:
        raise NotFound()
    events = desks.feed_events(user_id, today_local() - timedelta(days=FEED_PAST_DAYS))
    events += rooms.feed_events(user_id, utc_now() - timedelta(days=FEED_PAST_DAYS))
    events.sort(key=lambda event: event["start"])
    name = f"{FEED_NAME} – {current_app.config['SITE_NAME']}"
    return calendar.personal_feed(events, name=name)
