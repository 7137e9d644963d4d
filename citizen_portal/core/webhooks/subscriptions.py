"""Webhook subscriptions of an API client: receiver URL rules, create / read / update / delete, and the
delivery log a client or the admin page reads.

Rules:
- Receivers are ``https://`` URLs; ``http://`` only to a loopback address in debug mode or with
  ``WEBHOOK_ALLOW_HTTP_LOOPBACK``. Checked when a subscription is saved and again before each request
  (``delivery``).
- A subscription lists registered event types within its client's scopes; a revoked client has none;
  with a ``client_row_id`` only that client's subscriptions are found (another client's is 404).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import ApiClient, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from citizen_portal.core.scopes import expand
from citizen_portal.core.webhooks.events import event_types
from citizen_portal.core.webhooks.signing import new_secret

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
