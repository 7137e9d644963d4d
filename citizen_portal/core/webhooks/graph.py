"""Microsoft-Graph change notifications through the webhook outbox (``core.graph.subscriptions`` makes
the subscriptions; the packages report their changes here).

Rules:
- ``notify_graph_change(topics, item_id, change_type)`` is called by a service inside its write
  transaction: one webhook event and one delivery per Graph subscription that is not removed, not
  expired, listens to one of ``topics`` and to ``change_type`` ("created", "updated", "deleted"). No matching
  subscription: nothing is written. A rolled back change sends nothing; a committed one is never lost.
- ``notify_lifecycle(subscription, event)`` queues a lifecycle notification ("reauthorizationRequired",
  "subscriptionRemoved") for the subscription's ``lifecycleNotificationUrl`` (none: nothing).
- Delivery is the worker's job "webhooks" (leases, retries, backoff, ``delivery``). The body is Graph's
  ``{"value": [changeNotification]}`` with the subscription's ``clientState``, built when it is sent
  (``graph_body``); the request is also signed with Standard Webhooks headers (the subscription's key).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from citizen_portal.core.database import utcnow
from citizen_portal.core.extensions import db
from citizen_portal.core.models import GraphSubscription, WebhookDelivery, WebhookEvent

CHANGE, LIFECYCLE = "graph.change", "graph.lifecycle"
CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved")


def _event(type_: str, data: dict[str, Any], now: datetime) -> WebhookEvent:
    event = WebhookEvent(id=f"msg_{uuid.uuid4().hex}", type=type_, data=data, created_at=now)
    db.session.add(event)
    db.session.flush()  # before its deliveries (no relationship orders the inserts)
    return event


def _deliver_to(event: WebhookEvent, subscription: GraphSubscription) -> None:
    db.session.add(WebhookDelivery(graph_subscription_id=subscription.id, event_id=event.id,
                                   next_attempt_at=event.created_at, created_at=event.created_at))


def notify_graph_change(topics: list[str], item_id: str, change_type: str, now: datetime | None = None) -> int:
    """Queue the change of item ``item_id`` for every subscription listening to one of ``topics`` (caller's
    transaction); returns how many."""
    if change_type not in CHANGE_TYPES:
        raise ValueError(f"unknown change type {change_type!r}")
    moment = now or utcnow()
    listening = [sub for sub in db.session.scalars(select(GraphSubscription).where(
        GraphSubscription.removed_at.is_(None), GraphSubscription.expires_at > moment))
        if set(topics) & set(sub.topics or ()) and change_type in sub.change_types.split(",")]
    if not listening:
        return 0
    event = _event(CHANGE, {"changeType": change_type, "id": item_id}, moment)
    for subscription in listening:
        _deliver_to(event, subscription)
    return len(listening)


def notify_lifecycle(subscription: GraphSubscription, lifecycle_event: str, now: datetime | None = None) -> bool:
    """Queue a lifecycle notification for the subscription (caller's transaction); ``False`` without a
    ``lifecycleNotificationUrl``."""
    if lifecycle_event not in LIFECYCLE_EVENTS:
        raise ValueError(f"unknown lifecycle event {lifecycle_event!r}")
    if not subscription.lifecycle_url:
        return False
    _deliver_to(_event(LIFECYCLE, {"lifecycleEvent": lifecycle_event}, now or utcnow()), subscription)
    return True


def tenant_id() -> str:
    """A stable tenant GUID of this installation (from its public base URL)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, current_app.config["BASE_URL"]))


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def graph_target(subscription: GraphSubscription, event: WebhookEvent) -> tuple[str, bytes]:
    """Where a Graph notification goes and its body: ``{"value": [changeNotification]}``."""
    data = event.data or {}
    item: dict[str, Any] = {"id": event.id, "subscriptionId": subscription.id,
                            "subscriptionExpirationDateTime": _utc(subscription.expires_at),
                            "clientState": subscription.client_state, "tenantId": tenant_id()}
    if event.type == LIFECYCLE:
        item.update({"lifecycleEvent": data["lifecycleEvent"], "resource": subscription.resource})
        url = subscription.lifecycle_url or subscription.notification_url
    else:
        path = f"{subscription.item_path}/{data['id']}"
        item.update({"changeType": data["changeType"], "resource": path,
                     "resourceData": {"@odata.type": subscription.odata_type, "@odata.id": path, "id": data["id"]}})
        url = subscription.notification_url
    return url, json.dumps({"value": [item]}, separators=(",", ":"), ensure_ascii=False).encode()
