"""Signed webhooks (Standard Webhooks) through an outbox: event types, ``emit_event``, subscriptions,
delivery by the worker. Each module's docstring names its rules; this package imports the names callers
use, so ``from citizen_portal.core.webhooks import emit_event`` and ``webhooks.init_app`` keep working.

What is where:
- ``events``: ``EventType``, ``register_event_type``, ``event_types``; ``emit_event`` (the event and its
  deliveries, written in the caller's transaction); ``iso`` and ``payload`` (the body a client receives).
- ``signing``: ``new_secret`` (``whsec_`` keys) and ``sign`` (the ``webhook-signature`` value).
- ``subscriptions``: ``check_receiver_url`` (https; http only to loopback in debug / by setting);
  create / list / get / update / delete a subscription; its delivery log (``deliveries_of``,
  ``attempts_of``, ``event_of``).
- ``delivery``: ``redeliver``; the worker's job "webhooks" (``deliver_webhooks``, ``deliver``: lease,
  signed request, backoff and retries), the job "webhooks-purge" (``purge_webhook_events``), the
  ``/healthz`` check (``webhooks_check``) and ``init_app``, which registers them.
"""

from citizen_portal.core.webhooks.delivery import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    LEASE_SECONDS,
    MIN_RETRY_HOURS,
    deliver,
    deliver_webhooks,
    init_app,
    purge_webhook_events,
    redeliver,
    webhooks_check,
)
from citizen_portal.core.webhooks.events import EventType, emit_event, event_types, iso, payload, register_event_type
from citizen_portal.core.webhooks.signing import SECRET_PREFIX, new_secret, sign
from citizen_portal.core.webhooks.subscriptions import (
    NewSubscription,
    attempts_of,
    check_receiver_url,
    create_subscription,
    delete_subscription,
    deliveries_of,
    event_of,
    get_subscription,
    subscriptions_of,
    update_subscription,
)

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "LEASE_SECONDS",
    "MIN_RETRY_HOURS",
    "SECRET_PREFIX",
    "EventType",
    "NewSubscription",
    "attempts_of",
    "check_receiver_url",
    "create_subscription",
    "delete_subscription",
    "deliver",
    "deliver_webhooks",
    "deliveries_of",
    "emit_event",
    "event_of",
    "event_types",
    "get_subscription",
    "init_app",
    "iso",
    "new_secret",
    "payload",
    "purge_webhook_events",
    "redeliver",
    "register_event_type",
    "sign",
    "subscriptions_of",
    "update_subscription",
    "webhooks_check",
]
