"""``/api/v1/webhooks``: an API client manages its own webhook subscriptions (scope ``webhooks.manage``,
access ``CLIENT``: only an API client's access token; a person's token gets 403).

Creating answers the ``whsec_`` secret once. ``GET …/deliveries`` is the delivery log (status codes per
attempt); ``POST …/deliveries/<id>/redeliver`` sends a waiting or given-up delivery again (a delivered one
never: 409). Thin over ``core.webhooks``; declared in the operation registry (``core.api``)."""

from __future__ import annotations

from flask import Blueprint

from citizen_portal.core import webhooks
from citizen_portal.core.access import current_principal
from citizen_portal.core.api import CLIENT, Problem, operation
from citizen_portal.core.extensions import csrf
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import WebhookDelivery, WebhookSubscription
from citizen_portal.integrations import schemas
from citizen_portal.integrations.api_schemas import (
    AttemptOut,
    DeliveryListOut,
    DeliveryOut,
    EventTypeListOut,
    EventTypeOut,
    WebhookCreatedOut,
    WebhookListOut,
    WebhookOut,
)

bp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

SCOPE = "webhooks.manage"
TAGS = ("webhooks",)


def _client_id() -> int:
    """The calling client (``authorize`` made sure there is one)."""
    return current_principal().client_id


def _webhook_out(subscription: WebhookSubscription, model: type[WebhookOut] = WebhookOut, **extra) -> WebhookOut:
    return model(id=subscription.id, url=subscription.url, event_types=list(subscription.event_types),
                 description=subscription.description, active=subscription.active,
                 created_at=webhooks.iso(subscription.created_at), **extra)


def _delivery_out(delivery: WebhookDelivery, attempts) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id, event_id=delivery.event_id, event_type=webhooks.event_of(delivery).type, state=delivery.state,
        attempts=[AttemptOut(at=webhooks.iso(a.at), status_code=a.status_code, error=a.error) for a in attempts],
        next_attempt_at=webhooks.iso(delivery.next_attempt_at) if delivery.state == "pending" else None,
        delivered_at=webhooks.iso(delivery.delivered_at))


@operation(bp, "GET", "/webhooks", summary=_l("Eigene Webhooks"), scope=SCOPE,
           responses={200: WebhookListOut}, tags=TAGS, access=CLIENT)
def list_webhooks() -> WebhookListOut:
    return WebhookListOut(webhooks=[_webhook_out(s) for s in webhooks.subscriptions_of(_client_id())])


@operation(bp, "GET", "/webhooks/event-types", summary=_l("Ereignisarten für Webhooks"), scope=SCOPE,
           responses={200: EventTypeListOut}, tags=TAGS, access=CLIENT)
def list_event_types() -> EventTypeListOut:
    return EventTypeListOut(event_types=[EventTypeOut(name=t.name, scope=t.scope, description=str(t.description))
                                         for t in webhooks.event_types().values()])


@operation(bp, "POST", "/webhooks", summary=_l("Webhook anlegen"), scope=SCOPE,
           description=_l("Nur https-Adressen; Ereignisarten im Rahmen der Berechtigungen des Clients. Die Antwort "
                          "enthält den Signaturschlüssel (whsec_) zum einzigen Mal."),
           body=schemas.NewWebhook, responses={201: WebhookCreatedOut}, tags=TAGS, access=CLIENT)
def create_webhook(body: schemas.NewWebhook):
    created = webhooks.create_subscription(_client_id(), body.url, body.event_types, body.description)
    return (_webhook_out(created.subscription, WebhookCreatedOut, secret=created.secret), 201,
            {"Cache-Control": "no-store"})


@operation(bp, "GET", "/webhooks/<int:subscription_id>", summary=_l("Webhook anzeigen"), scope=SCOPE,
           responses={200: WebhookOut, 404: Problem}, tags=TAGS, access=CLIENT)
def show_webhook(subscription_id: int) -> WebhookOut:
    return _webhook_out(webhooks.get_subscription(_client_id(), subscription_id))


@operation(bp, "PATCH", "/webhooks/<int:subscription_id>", summary=_l("Webhook ändern"), scope=SCOPE,
           body=schemas.WebhookChanges, responses={200: WebhookOut, 404: Problem}, tags=TAGS, access=CLIENT)
def change_webhook(subscription_id: int, body: schemas.WebhookChanges) -> WebhookOut:
    return _webhook_out(webhooks.update_subscription(
        _client_id(), subscription_id, url=body.url, types=body.event_types, active=body.active,
        description=body.description))


@operation(bp, "DELETE", "/webhooks/<int:subscription_id>", summary=_l("Webhook löschen"), scope=SCOPE,
           responses={204: None, 404: Problem}, tags=TAGS, access=CLIENT)
def delete_webhook(subscription_id: int) -> None:
    webhooks.delete_subscription(_client_id(), subscription_id)


@operation(bp, "GET", "/webhooks/<int:subscription_id>/deliveries", summary=_l("Zustellungen eines Webhooks"),
           scope=SCOPE, description=_l("Die letzten Zustellungen, neueste zuerst, mit dem Status jedes Versuchs."),
           responses={200: DeliveryListOut, 404: Problem}, tags=TAGS, access=CLIENT)
def webhook_deliveries(subscription_id: int) -> DeliveryListOut:
    subscription = webhooks.get_subscription(_client_id(), subscription_id)
    deliveries = webhooks.deliveries_of(subscription.id)
    attempts = webhooks.attempts_of(d.id for d in deliveries)
    return DeliveryListOut(deliveries=[_delivery_out(d, attempts[d.id]) for d in deliveries])


@operation(bp, "POST", "/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver",
           summary=_l("Zustellung erneut senden"), scope=SCOPE,
           description=_l("Eine wartende oder aufgegebene Zustellung jetzt erneut senden, eine erfolgreiche nie."),
           responses={202: DeliveryOut, 404: Problem, 409: Problem}, tags=TAGS, access=CLIENT)
def redeliver(subscription_id: int, delivery_id: int):
    delivery = webhooks.redeliver(_client_id(), subscription_id, delivery_id)
    return _delivery_out(delivery, webhooks.attempts_of([delivery.id])[delivery.id]), 202
