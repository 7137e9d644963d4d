"""Webhook delivery by the worker: the job "webhooks" (leases, signed requests, retries), manual
redelivery, the job "webhooks-purge" and the ``/healthz`` check.

Rules:
- The worker's job "webhooks" sends due deliveries: each claimed with a lease first (two workers never
  send one at once), signed (``webhook-id`` = the event id, ``webhook-timestamp``, ``webhook-signature``,
  see ``signing``), redirects never followed; a 2xx marks it delivered (never sent again); anything else
  is logged and retried with backoff (30 s doubling, at most 1 h apart) for ``WEBHOOK_RETRY_HOURS``
  (at least 24 h), then given up.
- The receiver URL is checked again before each request (``subscriptions.check_receiver_url``).
- Graph change notifications (``graph``) are deliveries of a ``GraphSubscription``: same outbox, lease,
  retries and signature; their URL and body come from ``graph.graph_target``.
- ``redeliver`` sends a given-up (or waiting) delivery again now; a delivered one never (409).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import Flask, current_app
from sqlalchemy import delete, or_, select, update

from citizen_portal.core import locks
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.health import register_health_check
from citizen_portal.core.i18n import _l
from citizen_portal.core.jobs import register_job
from citizen_portal.core.models import (
    ApiClient,
    GraphSubscription,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from citizen_portal.core.webhooks.events import payload
from citizen_portal.core.webhooks.graph import graph_target
from citizen_portal.core.webhooks.signing import sign
from citizen_portal.core.webhooks.subscriptions import check_receiver_url, get_subscription

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
LEASE_SECONDS = 120.0
MIN_RETRY_HOURS = 24.0


# --------------------------------------------------------------------------- redelivery (by hand)


def redeliver(client_row_id: int | None, subscription_id: int, delivery_id: int,
              now: datetime | None = None) -> WebhookDelivery:
    """Send a delivery that was given up (or is still waiting) again now. A delivered one is never
    sent twice (409)."""
    with write_transaction(locks.webhooks()):
        get_subscription(client_row_id, subscription_id)
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.subscription_id != subscription_id:
            raise NotFound()
        if delivery.state == "delivered":
            raise Conflict(_l("Diese Zustellung war bereits erfolgreich und wird nicht noch einmal gesendet."),
                           code="already_delivered")
        delivery.state, delivery.next_attempt_at, delivery.claimed_until = "pending", now or utcnow(), None
        delivery.created_at = now or utcnow()  # a new retry window
    return delivery


# --------------------------------------------------------------------------- delivery (the worker's job)


def deliver_webhooks(limit: int = 50, now: datetime | None = None) -> str:
    """The worker's job "webhooks": send every due delivery (oldest first)."""
    moment = now or utcnow()
    due = db.session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= moment,
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < moment))
        .order_by(WebhookDelivery.id).limit(limit)).all()
    db.session.commit()
    sent = sum(deliver(delivery_id, now=moment) for delivery_id in due)
    return f"{sent} delivered, {len(due) - sent} waiting" if due else ""


@dataclass(frozen=True)
class _Claimed:
    url: str
    secret: str
    event_id: str
    body: bytes


def _claim(delivery_id: int, now: datetime) -> _Claimed | None:
    with write_transaction(locks.webhooks()):
        claimed = db.session.execute(
            update(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.state == "pending",
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now))
            .values(claimed_until=now + timedelta(seconds=LEASE_SECONDS))).rowcount
        if not claimed:
            return None
        delivery = db.session.get(WebhookDelivery, delivery_id)
        event = db.session.get(WebhookEvent, delivery.event_id)
        if delivery.graph_subscription_id is not None:  # a Graph change notification (``graph``)
            graph_subscription = db.session.get(GraphSubscription, delivery.graph_subscription_id)
            url, body = graph_target(graph_subscription, event)
            return _Claimed(url, graph_subscription.secret, event.id, body)
        subscription = db.session.get(WebhookSubscription, delivery.subscription_id)
        client = db.session.get(ApiClient, subscription.client_id)
        result = _Claimed(subscription.url, subscription.secret, event.id, payload(event, client.scopes or ()))
    return result


def _send(claimed: _Claimed) -> tuple[int | None, str | None]:
    """POST the signed body; (status code, None) or (None, kind of error). Redirects are not followed."""
    try:
        check_receiver_url(claimed.url)
    except Invalid:
        return None, "url_not_allowed"
    timestamp = int(time.time())  # the receiver checks it against its own clock
    headers = {
        "content-type": "application/json",
        "user-agent": "municipal-services-webhooks/1",
        "webhook-id": claimed.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(claimed.secret, claimed.event_id, timestamp, claimed.body),
    }
    try:
        response = requests.post(claimed.url, data=claimed.body, headers=headers, allow_redirects=False,
                                 timeout=float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"]))
        response.close()
    except requests.RequestException as exc:
        return None, type(exc).__name__[:100]
    return response.status_code, None


def deliver(delivery_id: int, now: datetime | None = None) -> bool:
    """Claim, send and record one delivery; ``True`` when the receiver answered 2xx."""
    moment = now or utcnow()
    claimed = _claim(delivery_id, moment)
    if claimed is None:
        return False
    started = time.monotonic()
    status, error = _send(claimed)
    elapsed = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    retry_hours = max(MIN_RETRY_HOURS, float(current_app.config["WEBHOOK_RETRY_HOURS"]))
    with write_transaction(locks.webhooks()):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        db.session.add(WebhookAttempt(delivery_id=delivery_id, at=moment, status_code=status, error=error,
                                      duration_ms=elapsed))
        delivery.attempts += 1
        delivery.last_status = status
        delivery.claimed_until = None
        if ok:
            delivery.state, delivery.delivered_at = "delivered", moment
        elif moment - delivery.created_at >= timedelta(hours=retry_hours):
            delivery.state = "failed"
        else:
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (delivery.attempts - 1))
            delivery.next_attempt_at = moment + timedelta(seconds=delay)
        state = delivery.state
    if not ok:
        log.warning("webhook delivery %s: %s (%s)", delivery_id, state, status or error)
    return ok


def purge_webhook_events(now: datetime | None = None) -> str:
    """The job "webhooks-purge": personal fields are erased once the retry window of an event is over;
    events (with their deliveries and log) are deleted after ``WEBHOOK_LOG_DAYS`` unless a delivery
    still waits."""
    moment = now or utcnow()
    retry_hours = max(MIN_RETRY_HOURS, float(current_app.config["WEBHOOK_RETRY_HOURS"]))
    with write_transaction(locks.webhooks()):
        erased = db.session.execute(
            update(WebhookEvent).where(WebhookEvent.personal.is_not(None),
                                       WebhookEvent.created_at < moment - timedelta(hours=retry_hours + 1))
            .values(personal=None)).rowcount
        waiting = select(WebhookDelivery.event_id).where(WebhookDelivery.state == "pending")
        old = moment - timedelta(days=int(current_app.config["WEBHOOK_LOG_DAYS"]))
        stale = list(db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.created_at < old,
                                                                      WebhookEvent.id.not_in(waiting))))
        if stale:
            deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(stale))
            db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
            db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(stale)))
            db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(stale)))
    return f"{erased} erased, {len(stale)} deleted" if erased or stale else ""


def webhooks_check() -> dict:
    """``/healthz``: deliveries waiting and the age of the oldest (receivers that are down degrade)."""
    now = utcnow()
    oldest = db.session.scalar(select(WebhookDelivery.created_at).where(WebhookDelivery.state == "pending")
                               .order_by(WebhookDelivery.created_at).limit(1))
    waiting = db.session.query(WebhookDelivery).filter(WebhookDelivery.state == "pending").count()
    age = (now - oldest).total_seconds() if oldest else None
    return {"ok": True, "degraded": age is not None and age > 3600, "pending": waiting,
            "oldest_pending_age_seconds": age}


def init_app(app: Flask) -> None:
    """The worker delivers due webhooks every round; ``/healthz`` reports the backlog."""
    register_job(app, "webhooks", deliver_webhooks, 0, order=16)
    register_job(app, "webhooks-purge", purge_webhook_events, 3600)
    register_health_check(app, "webhooks", webhooks_check)

