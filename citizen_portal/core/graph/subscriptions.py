"""Graph change-notification subscriptions (``/graph/v1.0/subscriptions``): which resources can be
subscribed to (``register_subscription_resource``: each package registers its own), create, read,
renew, reauthorize, delete, and the lifecycle job. Notifications are queued by the packages with
``core.webhooks.graph.notify_graph_change`` and delivered by the webhook worker.

Rules:
- ``resource`` must match a registered resource (``/users/{id}/events``, ``users/{id}/events``,
  ``/me/events``, ``/solutions/bookingBusinesses/{id}/appointments``); the caller needs the resource's
  read permission (403) and must see the mailbox or office (404, as if it did not exist);
- ``changeType``: a comma list of ``created``, ``updated``, ``deleted``; ``clientState`` at most 255
  characters; ``includeResourceData`` (rich notifications) is not supported;
- ``expirationDateTime`` in the future and at most ``MAX_LIFETIME_MINUTES`` (4230, like Outlook events in
  Graph) ahead, else 400 (on create and on renewal);
- ``notificationUrl`` and ``lifecycleNotificationUrl`` are webhook receiver URLs (``check_receiver_url``)
  and must pass the validation handshake before anything is stored: a POST with ``?validationToken=``
  answered within ``VALIDATION_TIMEOUT_SECONDS`` with 200 and exactly the token as ``text/plain``, else
  400 ``ValidationError``; a new ``notificationUrl`` on PATCH is validated again; a
  ``lifecycleNotificationUrl`` cannot be added later (Graph's rule);
- a caller sees, renews and deletes only its own subscriptions (another's is 404); an expired or removed
  one is gone (404, renew before it ends); at most ``MAX_PER_CALLER`` active ones;
- the job "graph-subscriptions": a subscription whose owner lost the permission (client revoked, scope or
  role removed) is removed with a ``subscriptionRemoved`` lifecycle notification; one that expires within
  ``REAUTHORIZE_BEFORE`` gets ``reauthorizationRequired`` once (cleared by renewing or ``/reauthorize``);
  expired and removed ones are deleted after ``KEEP_DAYS`` once nothing waits for delivery.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import requests
from flask import Flask, current_app
from sqlalchemy import func, select

from citizen_portal.core import locks
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.graph.access import GraphCaller
from citizen_portal.core.graph.schemas import SubscriptionInput
from citizen_portal.core.graph.times import parse_moment
from citizen_portal.core.i18n import _l
from citizen_portal.core.jobs import register_job
from citizen_portal.core.models import ApiClient, GraphSubscription, User, WebhookDelivery
from citizen_portal.core.scopes import expand, scopes_for_roles
from citizen_portal.core.webhooks.graph import CHANGE_TYPES, notify_lifecycle
from citizen_portal.core.webhooks.signing import new_secret
from citizen_portal.core.webhooks.subscriptions import check_receiver_url

MAX_LIFETIME_MINUTES = 4230
VALIDATION_TIMEOUT_SECONDS = 10.0
MAX_PER_CALLER = 100
REAUTHORIZE_BEFORE = timedelta(minutes=60)
KEEP_DAYS = 7


class ValidationFailed(Invalid):
    """The receiver did not answer the validation handshake (Graph's 400 ``ValidationError``)."""

    code = "validation_failed"
    graph_code = "ValidationError"


@dataclass(frozen=True)
class SubscriptionTarget:
    """What a subscription listens to: ``topics`` (the packages notify by topic), the path of its items
    in notifications (``Users/{id}/Events``) and their ``@odata.type``."""

    topics: list[str]
    item_path: str
    odata_type: str


@dataclass(frozen=True)
class SubscriptionResource:
    """A resource that can be subscribed to: ``pattern`` (matched case-insensitively against the
    resource path without a leading ``/``), the read ``permission`` it needs, and ``resolve(caller,
    groups)`` → ``SubscriptionTarget`` (``NotFound`` for what the caller does not see)."""

    name: str
    pattern: str
    permission: str
    resolve: Callable[[GraphCaller, dict[str, str]], SubscriptionTarget]


def register_subscription_resource(app: Flask, resource: SubscriptionResource) -> None:
    app.extensions.setdefault("graph_subscription_resources", {})[resource.name] = resource


def subscription_resources(app: Flask | None = None) -> dict[str, SubscriptionResource]:
    return dict((app or current_app).extensions.get("graph_subscription_resources", {}))


def _resolve(caller: GraphCaller, resource: str) -> tuple[SubscriptionResource, SubscriptionTarget]:
    path = resource.strip().lstrip("/")
    for candidate in subscription_resources().values():
        match = re.fullmatch(candidate.pattern, path, flags=re.IGNORECASE)
        if match:
            if not caller.principal.has(candidate.permission):
                raise Forbidden(_l("Diesem Zugriffstoken fehlt die Berechtigung %(permission)s.",
                                   permission=candidate.permission))
            groups = {key: unquote(value) for key, value in match.groupdict().items() if value is not None}
            return candidate, candidate.resolve(caller, groups)
    raise Invalid(fields={"resource": _l("Diese Ressource kann nicht abonniert werden.")},
                  code="unsupported_resource")


def _change_types(value: str | None) -> str:
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    if not names or any(name not in CHANGE_TYPES for name in names):
        raise Invalid(fields={"changeType": _l("Erlaubt sind created, updated und deleted (durch Kommas getrennt).")})
    return ",".join(name for name in CHANGE_TYPES if name in names)


def _expiration(value: str | None, now: datetime) -> datetime:
    if not value:
        raise Invalid(fields={"expirationDateTime": _l("Bitte geben Sie das Ablaufdatum an.")})
    moment = parse_moment(value, "expirationDateTime")
    if moment <= now:
        raise Invalid(fields={"expirationDateTime": _l("Das Ablaufdatum muss in der Zukunft liegen.")})
    if moment > now + timedelta(minutes=MAX_LIFETIME_MINUTES):
        raise Invalid(fields={"expirationDateTime": _l(
            "Ein Abonnement läuft höchstens %(minutes)s Minuten; bitte verlängern Sie es rechtzeitig (PATCH).",
            minutes=MAX_LIFETIME_MINUTES)})
    return moment


def _receiver(url: str | None, field_name: str) -> str:
    try:
        return check_receiver_url(url or "")
    except Invalid:
        raise Invalid(fields={field_name: _l("Benachrichtigungen werden nur an https-Adressen gesendet.")}) from None


def validate_endpoint(url: str) -> None:
    """The validation handshake: POST ``url?validationToken=<token>`` (``text/plain``); the receiver must
    answer 200 with the token as ``text/plain`` within ``VALIDATION_TIMEOUT_SECONDS``."""
    token = f"Validation: {secrets.token_urlsafe(24)}"
    try:
        response = requests.post(url, params={"validationToken": token}, data=b"", allow_redirects=False,
                                 headers={"Content-Type": "text/plain; charset=utf-8",
                                          "User-Agent": "municipal-services-graph/1"},
                                 timeout=VALIDATION_TIMEOUT_SECONDS)
        ok = (response.status_code == 200 and response.text == token
              and response.headers.get("Content-Type", "").lower().startswith("text/plain"))
        response.close()
    except requests.RequestException:
        ok = False
    if not ok:
        raise ValidationFailed(_l("Die Prüfung der Benachrichtigungsadresse ist fehlgeschlagen: sie muss innerhalb "
                                  "von 10 Sekunden mit 200 und genau dem validationToken als text/plain antworten."))


def _application(caller: GraphCaller) -> str:
    if caller.principal.kind == "client":
        client = db.session.get(ApiClient, caller.principal.client_id)
        return client.client_id if client is not None else ""
    return ""


def create_subscription(caller: GraphCaller, data: SubscriptionInput) -> GraphSubscription:
    """A new subscription (see the module's rules); its ``secret`` is returned once by the view."""
    now = utcnow()
    if data.include_resource_data:
        raise Invalid(fields={"includeResourceData": _l("Benachrichtigungen mit Inhalten werden nicht unterstützt.")})
    if not data.resource:
        raise Invalid(fields={"resource": _l("Bitte geben Sie die Ressource an.")})
    resource, target = _resolve(caller, data.resource)
    change_types = _change_types(data.change_type)
    expires = _expiration(data.expiration_date_time, now)
    notification_url = _receiver(data.notification_url, "notificationUrl")
    lifecycle_url = (_receiver(data.lifecycle_notification_url, "lifecycleNotificationUrl")
                     if data.lifecycle_notification_url else None)
    for url in filter(None, (notification_url, lifecycle_url)):
        validate_endpoint(url)  # network: before the transaction
    with write_transaction(locks.webhooks()):
        active = db.session.scalar(select(func.count(GraphSubscription.id)).where(
            GraphSubscription.principal == caller.principal.key, GraphSubscription.removed_at.is_(None),
            GraphSubscription.expires_at > now))
        if active >= MAX_PER_CALLER:
            raise Forbidden(_l("Höchstens %(count)s Abonnements je Zugang.", count=MAX_PER_CALLER),
                            code="quota_exceeded")
        subscription = GraphSubscription(
            id=str(uuid.uuid4()), principal=caller.principal.key, application_id=_application(caller),
            permission=resource.permission, resource=data.resource.strip(), topics=target.topics,
            item_path=target.item_path, odata_type=target.odata_type, change_types=change_types,
            client_state=data.client_state, notification_url=notification_url, lifecycle_url=lifecycle_url,
            secret=new_secret(), expires_at=expires, created_at=now)
        db.session.add(subscription)
    return subscription


def subscriptions_of(caller: GraphCaller) -> list[GraphSubscription]:
    """The caller's subscriptions that are neither removed nor expired."""
    return list(db.session.scalars(select(GraphSubscription).where(
        GraphSubscription.principal == caller.principal.key, GraphSubscription.removed_at.is_(None),
        GraphSubscription.expires_at > utcnow()).order_by(GraphSubscription.created_at, GraphSubscription.id)))


def get_subscription(caller: GraphCaller, subscription_id: str) -> GraphSubscription:
    """The caller's own subscription (another's, a removed or expired one, or none: ``NotFound``; an
    expired subscription cannot be renewed, as in Graph: create a new one)."""
    subscription = db.session.get(GraphSubscription, subscription_id)
    if (subscription is None or subscription.principal != caller.principal.key or subscription.removed_at
            or subscription.expires_at <= utcnow()):
        raise NotFound()
    return subscription


def update_subscription(caller: GraphCaller, subscription_id: str, data: SubscriptionInput) -> GraphSubscription:
    """Renew (``expirationDateTime``) or move (``notificationUrl``, validated again)."""
    now = utcnow()
    sent = data.model_fields_set
    before = get_subscription(caller, subscription_id)
    if "lifecycle_notification_url" in sent and data.lifecycle_notification_url != before.lifecycle_url:
        raise Invalid(fields={"lifecycleNotificationUrl": _l(
            "Die Adresse für Lebenszyklus-Benachrichtigungen kann nur beim Anlegen gesetzt werden.")})
    expires = _expiration(data.expiration_date_time, now) if "expiration_date_time" in sent else None
    url = _receiver(data.notification_url, "notificationUrl") if "notification_url" in sent else None
    if url is not None and url != before.notification_url:
        validate_endpoint(url)
    with write_transaction(locks.webhooks()):
        subscription = get_subscription(caller, subscription_id)
        if expires is not None:
            subscription.expires_at, subscription.warned_at = expires, None
        if url is not None:
            subscription.notification_url = url
    return subscription


def reauthorize_subscription(caller: GraphCaller, subscription_id: str) -> None:
    """``POST /subscriptions/{id}/reauthorize``: the caller still holds the permission (403 otherwise);
    the ``reauthorizationRequired`` warning is cleared."""
    subscription = get_subscription(caller, subscription_id)
    if not caller.principal.has(subscription.permission):
        raise Forbidden(_l("Diesem Zugriffstoken fehlt die Berechtigung %(permission)s.",
                           permission=subscription.permission))
    with write_transaction(locks.webhooks()):
        get_subscription(caller, subscription_id).warned_at = None


def delete_subscription(caller: GraphCaller, subscription_id: str) -> None:
    with write_transaction(locks.webhooks()):
        db.session.delete(get_subscription(caller, subscription_id))


def _still_allowed(subscription: GraphSubscription) -> bool:
    kind, _, ident = subscription.principal.partition(":")
    if kind == "client":
        client = db.session.get(ApiClient, int(ident)) if ident.isdigit() else None
        return client is not None and client.revoked_at is None and subscription.permission in expand(
            client.scopes or ())
    user = db.session.get(User, int(ident)) if ident.isdigit() else None
    return user is not None and user.active and subscription.permission in scopes_for_roles(user.role_list)


def run_lifecycle(now: datetime | None = None) -> str:
    """The job "graph-subscriptions" (see the module's rules)."""
    moment = now or utcnow()
    removed = warned = deleted = 0
    with write_transaction(locks.webhooks()):
        waiting = select(WebhookDelivery.graph_subscription_id).where(
            WebhookDelivery.state == "pending", WebhookDelivery.graph_subscription_id.is_not(None))
        busy = set(db.session.scalars(waiting))
        for subscription in db.session.scalars(select(GraphSubscription)).all():
            gone_since = subscription.removed_at or subscription.expires_at
            if gone_since < moment - timedelta(days=KEEP_DAYS) and subscription.id not in busy:
                db.session.delete(subscription)
                deleted += 1
            elif subscription.removed_at is None and not _still_allowed(subscription):
                subscription.removed_at = moment
                notify_lifecycle(subscription, "subscriptionRemoved", moment)
                removed += 1
            elif (subscription.removed_at is None and subscription.warned_at is None
                  and moment < subscription.expires_at <= moment + REAUTHORIZE_BEFORE):
                subscription.warned_at = moment
                notify_lifecycle(subscription, "reauthorizationRequired", moment)
                warned += 1
    return f"{removed} removed, {warned} warned, {deleted} deleted" if removed or warned or deleted else ""


def subscription_json(subscription: GraphSubscription, *, secret: bool = False) -> dict[str, Any]:
    """The Graph ``subscription``; ``secret``: with the Standard Webhooks key (only when it is created)."""
    body: dict[str, Any] = {
        "id": subscription.id, "resource": subscription.resource, "applicationId": subscription.application_id or None,
        "changeType": subscription.change_types, "clientState": subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "lifecycleNotificationUrl": subscription.lifecycle_url,
        "expirationDateTime": subscription.expires_at.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "creatorId": subscription.principal, "includeResourceData": False, "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None, "encryptionCertificateId": None, "notificationQueryOptions": None,
        "notificationUrlAppId": None}
    if secret:
        body["municipal.webhookSecret"] = subscription.secret
    return body


def init_app(app: Flask) -> None:
    register_job(app, "graph-subscriptions", run_lifecycle, 60)
