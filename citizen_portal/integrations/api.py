"""``/api/v1/webhooks``: an API client manages its own webhook subscriptions (scope ``webhooks.manage``).

Only API clients have subscriptions (a person's token gets 403). Creating answers the ``whsec_`` secret
once. ``GET …/deliveries`` is the delivery log (status codes per attempt); ``POST
…/deliveries/<id>/redeliver`` sends a given-up delivery again. Thin over ``core.webhooks``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from citizen_portal.core import webhooks
from citizen_portal.core.access import require_scope
from citizen_portal.core.errors import Forbidden
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import WebhookDelivery, WebhookSubscription
from citizen_portal.core.schemas import parse_json
from citizen_portal.integrations import schemas

bp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

SCOPE = "webhooks.manage"


def _client_id() -> int:
    principal = require_scope(SCOPE)
    if principal is None or principal.kind != "client":
        raise Forbidden(_l("Webhooks gehören zu einem API-Client; bitte mit dessen Zugriffstoken aufrufen."))
    return principal.client_id


def subscription_json(subscription: WebhookSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "url": subscription.url, "event_types": list(subscription.event_types),
            "description": subscription.description, "active": subscription.active,
            "created_at": webhooks.iso(subscription.created_at)}


def delivery_json(delivery: WebhookDelivery, attempts) -> dict[str, Any]:
    event = webhooks.event_of(delivery)
    return {"id": delivery.id, "event_id": delivery.event_id, "event_type": event.type, "state": delivery.state,
            "attempts": [{"at": webhooks.iso(a.at), "status_code": a.status_code, "error": a.error}
                         for a in attempts],
            "next_attempt_at": webhooks.iso(delivery.next_attempt_at) if delivery.state == "pending" else None,
            "delivered_at": webhooks.iso(delivery.delivered_at)}


@bp.get("/webhooks")
def list_webhooks():
    return {"webhooks": [subscription_json(s) for s in webhooks.subscriptions_of(_client_id())]}


@bp.get("/webhooks/event-types")
def list_event_types():
    _client_id()
    return {"event_types": [{"name": t.name, "scope": t.scope, "description": str(t.description)}
                            for t in webhooks.event_types().values()]}


@bp.post("/webhooks")
def create_webhook():
    client_id = _client_id()
    values = parse_json(schemas.NewWebhook, request.get_json(silent=True))
    created = webhooks.create_subscription(client_id, values.url, values.event_types, values.description)
    body = subscription_json(created.subscription)
    body["secret"] = created.secret
    return body, 201, {"Cache-Control": "no-store"}


@bp.get("/webhooks/<int:subscription_id>")
def show_webhook(subscription_id: int):
    return subscription_json(webhooks.get_subscription(_client_id(), subscription_id))


@bp.patch("/webhooks/<int:subscription_id>")
def change_webhook(subscription_id: int):
    client_id = _client_id()
    values = parse_json(schemas.WebhookChanges, request.get_json(silent=True))
    return subscription_json(webhooks.update_subscription(
        client_id, subscription_id, url=values.url, types=values.event_types, active=values.active,
        description=values.description))


@bp.delete("/webhooks/<int:subscription_id>")
def delete_webhook(subscription_id: int):
    webhooks.delete_subscription(_client_id(), subscription_id)
    return "", 204


@bp.get("/webhooks/<int:subscription_id>/deliveries")
def webhook_deliveries(subscription_id: int):
    subscription = webhooks.get_subscription(_client_id(), subscription_id)
    deliveries = webhooks.deliveries_of(subscription.id)
    attempts = webhooks.attempts_of(d.id for d in deliveries)
    return {"deliveries": [delivery_json(d, attempts[d.id]) for d in deliveries]}


@bp.post("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
def redeliver(subscription_id: int, delivery_id: int):
    delivery = webhooks.redeliver(_client_id(), subscription_id, delivery_id)
    return delivery_json(delivery, webhooks.attempts_of([delivery.id])[delivery.id]), 202
