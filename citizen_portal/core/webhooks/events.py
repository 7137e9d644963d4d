"""Webhook event types and the outbox side: ``emit_event`` writes an event and its deliveries in the
caller's transaction; ``payload`` is the body a client receives.

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
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from citizen_portal.core.database import utcnow
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiClient, WebhookDelivery, WebhookEvent, WebhookSubscription
from citizen_portal.core.scopes import expand

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
               location_id: int | None = None, staff_username: str | None = None, key: str | None = None,
               now: datetime | None = None) -> WebhookEvent | None:
    """Write event ``type_`` and its deliveries into the caller's open write transaction (no commit).
    ``data``: ids and times (JSON values); ``personal``: fields only some scopes may see;
    ``location_id`` / ``staff_username``: what restricted clients are matched against; ``key``: emit
    only once (``None`` is answered when an event with this key exists)."""
    known = event_types()
    if type_ not in known:
        raise ValueError(f"unregistered webhook event type {type_!r}")
    if key is not None and db.session.scalar(select(WebhookEvent.id).where(WebhookEvent.key == key)) is not None:
        return None
    event = WebhookEvent(id=f"msg_{uuid.uuid4().hex}", type=type_, data=data, personal=personal or None,
                         location_id=location_id, staff_username=staff_username, key=key,
                         created_at=now or utcnow())
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

