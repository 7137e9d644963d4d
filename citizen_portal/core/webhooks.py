"""Signed webhooks (Standard Webhooks) through an outbox: event types, ``emit_event``, subscriptions,
delivery by the worker.

Rules:
- Each package registers its event types (``register_event_type`` in its ``jobs.register``): the scope a
  client needs to receive one, and the scope that lets it see the personal fields.
- ``emit_event(type, data, …)`` is called by a service inside its ``write_transaction``: the event and one
  delivery row per matching subscription are written in the same transaction as the change (a rolled
  back change sends nothing; a committed one is never lost). A subscription matches when it is active,
  lists the type, its client is not revoked, holds the type's scope and, if restricted, may see the
  event's location / staff member.
- Payloads (``{"type", "timestamp", "data"}``) carry ids and times; ``personal`` fields are added only for
  clients holding the type's ``personal_scope``.
- The worker's job "webhooks" sends due deliveries: each claimed with a lease first (two workers never
  send one at once), signed (``webhook-id`` = the event id, ``webhook-timestamp``, ``webhook-signature``
  = ``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body`` with the ``whsec_`` key), redirects never
  followed; a 2xx marks it delivered (never sent again); anything else is logged and retried with
  backoff (30 s doubling, at most 1 h apart) for ``WEBHOOK_RETRY_HOURS``, then given up.
- Receivers are ``https://`` URLs; ``http://`` only to a loopback address in debug mode or with
  ``WEBHOOK_ALLOW_HTTP_LOOPBACK``. Checked when a subscription is saved and again before each request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select, update

from citizen_portal.core import locks
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.health import register_health_check
from citizen_portal.core.i18n import _l
from citizen_portal.core.jobs import register_job
from citizen_portal.core.models import (
    ApiClient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from citizen_portal.core.scopes import expand

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
LEASE_SECONDS = 120.0
SECRET_PREFIX = "whsec_"
MIN_RETRY_HOURS = 24.0


# --------------------------------------------------------------------------- event types


@dataclass(frozen=True)
class EventType:
    name: str
    scope: str  # needed to receive it
    description: Any
    personal_scope: str | None = None  # holders also get the event's personal fields


def register_event_type(app: Flask, event_type: EventType) -> None:
    """Declare an event type a package emits (call in the package's ``jobs.register``)."""
    app.extensions.setdefault("webhook_event_types", {})[event_type.name] = event_type


def event_types(app: Flask | None = None) -> dict[str, EventType]:
    app = app or current_app
    return dict(sorted(app.extensions.get("webhook_event_types", {}).items()))


# --------------------------------------------------------------------------- emitting (in the caller's transaction)


def emit_event(type_: str, data: dict[str, Any], *, personal: dict[str, Any] | None = None,
               location_id: int | None = None, staff_username: str | None = None,
               now: datetime | None = None) -> WebhookEvent:
    """Write event ``type_`` and its deliveries into the caller's open write transaction (no commit).
    ``data``: ids and times (JSON values); ``personal``: fields only some scopes may see;
    ``location_id`` / ``staff_username``: what restricted clients are matched against."""
    known = event_types()
    if type_ not in known:
        raise ValueError(f"unregistered webhook event type {type_!r}")
    event = WebhookEvent(id=f"msg_{uuid.uuid4().hex}", type=type_, data=data, personal=personal or None,
                         location_id=location_id, staff_username=staff_username, created_at=now or utcnow())
    db.session.add(event)
    scope = known[type_].scope
    rows = db.session.execute(
        select(WebhookSubscription, ApiClient).join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(WebhookSubscription.active.is_(True), ApiClient.revoked_at.is_(None))).all()
    for subscription, client in rows:
        if type_ not in (subscription.event_types or ()) or scope not in expand(client.scopes or ()):
            continue
        if location_id is not None and client.location_ids is not None and location_id not in client.location_ids:
            continue
        if (staff_username is not None and client.staff_usernames is not None
                and staff_username not in client.staff_usernames):
            continue
        db.session.add(WebhookDelivery(subscription_id=subscription.id, event_id=event.id,
                                       next_attempt_at=event.created_at, created_at=event.created_at))
    return event


def iso(moment: datetime | None) -> str | None:
    """A UTC time for a payload (``2026-12-07T09:30:00Z``)."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(event: WebhookEvent, client_scopes: Iterable[str]) -> bytes:
    """The body sent for ``event`` to a client holding ``client_scopes``."""
    data = dict(event.data or {})
    event_type = event_types().get(event.type)
    if event.personal and event_type is not None and event_type.personal_scope in expand(client_scopes):
        data.update(event.personal)
    body = {"type": event.type, "timestamp": iso(event.created_at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


# --------------------------------------------------------------------------- signing


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --------------------------------------------------------------------------- receivers


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_receiver_url(url: str) -> str:
    """``url`` if webhooks may be sent there (https; http only to loopback in debug / by setting)."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        host, parts = "", None
    if parts is None or not host or len(text) > 2000 or parts.username or parts.password:
        raise Invalid(fields={"url": _l("Bitte geben Sie eine vollständige https-Adresse an.")})
    if parts.scheme == "https":
        return text
    if parts.scheme == "http" and _loopback(host) and (
            current_app.debug or current_app.config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]):
        return text
    raise Invalid(fields={"url": _l("Webhooks werden nur an https-Adressen gesendet.")})


# --------------------------------------------------------------------------- subscriptions


def _client(client_row_id: int) -> ApiClient:
    client = db.session.get(ApiClient, client_row_id)
    if client is None or client.revoked_at is not None:
        raise NotFound()
    return client


def _checked_types(client: ApiClient, names: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(name for name in names if name))
    known = event_types()
    unknown = [name for name in chosen if name not in known]
    if not chosen or unknown:
        raise Invalid(fields={"event_types": _l("Unbekannte Ereignisart: %(names)s", names=", ".join(unknown))
                              if unknown else _l("Bitte wählen Sie mindestens eine Ereignisart.")})
    held = expand(client.scopes or ())
    missing = [name for name in chosen if known[name].scope not in held]
    if missing:
        raise Invalid(fields={"event_types": _l("Dafür fehlt dem Client die Berechtigung: %(names)s",
                                                names=", ".join(missing))})
    return chosen


@dataclass(frozen=True)
class NewSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once


def create_subscription(client_row_id: int, url: str, types: Iterable[str], description: str = "") -> NewSubscription:
    """A subscription of the client to ``types`` (registered, within its scopes) at ``url`` (see
    ``check_receiver_url``); returns the ``whsec_`` secret (shown once)."""
    client = _client(client_row_id)
    fields: dict[str, Any] = {}
    try:
        url = check_receiver_url(url)
    except Invalid as exc:
        fields.update(exc.fields)
    try:
        chosen = _checked_types(client, types)
    except Invalid as exc:
        fields.update(exc.fields)
    if fields:
        raise Invalid(fields=fields)
    secret = new_secret()
    with write_transaction(locks.webhooks()):
        subscription = WebhookSubscription(client_id=client.id, url=url, event_types=chosen, secret=secret,
                                           description=" ".join((description or "").split())[:200])
        db.session.add(subscription)
    return NewSubscription(subscription, secret)


def subscriptions_of(client_row_id: int) -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).where(WebhookSubscription.client_id == client_row_id)
                                   .order_by(WebhookSubscription.id)))


def get_subscription(client_row_id: int | None, subscription_id: int) -> WebhookSubscription:
    """A subscription; with ``client_row_id`` only one of that client (another client's is 404)."""
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None or (client_row_id is not None and subscription.client_id != client_row_id):
        raise NotFound()
    return subscription


def update_subscription(client_row_id: int | None, subscription_id: int, *, url: str | None = None,
                        types: Iterable[str] | None = None, active: bool | None = None,
                        description: str | None = None) -> WebhookSubscription:
    """Change what is given; the same checks as creating."""
    subscription = get_subscription(client_row_id, subscription_id)
    client = _client(subscription.client_id)
    checked_url = check_receiver_url(url) if url is not None else None
    chosen = _checked_types(client, types) if types is not None else None
    with write_transaction(locks.webhooks()):
        subscription = get_subscription(client_row_id, subscription_id)
        if checked_url is not None:
            subscription.url = checked_url
        if chosen is not None:
            subscription.event_types = chosen
        if active is not None:
            subscription.active = active
        if description is not None:
            subscription.description = " ".join(description.split())[:200]
    return subscription


def delete_subscription(client_row_id: int | None, subscription_id: int) -> None:
    """Remove a subscription with its deliveries and their log."""
    with write_transaction(locks.webhooks()):
        db.session.delete(get_subscription(client_row_id, subscription_id))


def deliveries_of(subscription_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log of a subscription, newest first."""
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                                   .order_by(WebhookDelivery.id.desc()).limit(limit)))


def attempts_of(delivery_ids: Iterable[int]) -> dict[int, list[WebhookAttempt]]:
    ids = list(delivery_ids)
    found: dict[int, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in ids}
    if ids:
        for attempt in db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
                                          .order_by(WebhookAttempt.id)):
            found[attempt.delivery_id].append(attempt)
    return found


def event_of(delivery: WebhookDelivery) -> WebhookEvent:
    return db.session.get(WebhookEvent, delivery.event_id)


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
        subscription = db.session.get(WebhookSubscription, delivery.subscription_id)
        client = db.session.get(ApiClient, subscription.client_id)
        event = db.session.get(WebhookEvent, delivery.event_id)
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
    register_health_check(app, "webhooks", webhooks_check)

