"""The platform models every package may use: staff accounts, API tokens, the site's settings.

Domain packages refer to users by ``users.id`` foreign keys and read the site's settings here;
nothing in this module knows about appointments, desks or polls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db


class User(db.Model):
    """A staff account (citizens never have one). ``roles`` is a comma-separated list."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[str] = mapped_column(String(200), default="staff")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # desk booking: team for "who's in", and whether colleagues of the team may see me
    team: Mapped[str | None] = mapped_column(String(100))
    show_presence: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # part of every session's user id: raising it (logout, new password) ends all sessions of the user
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # staff login with the city's OpenID provider: the account is linked by issuer + stable subject
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session stores: ``<id>:<session generation>`` (``core.access.load_user`` checks both)."""
        return f"{self.id}:{self.session_generation or 0}"

    @property
    def role_list(self) -> list[str]:
        return [role.strip() for role in (self.roles or "").split(",") if role.strip()]


class ApiToken(db.Model):
    """A bearer token for other software ("Fachanwendungen"); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # core.api_tokens: API_TOKEN_DAYS by default
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SiteSettings(db.Model):
    """The ``[site]`` table of the site file: one row."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    holidays: Mapped[str | None] = mapped_column(String(8))  # Bundesland code, e.g. "BW"
    # further [site] keys (retention days, event privacy, legal page texts, ...)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WorkerHeartbeat(db.Model):
    """One row per worker process (``host:pid``): when it last finished a round."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    info: Mapped[dict | None] = mapped_column(JSON)


class QueuedMail(db.Model):
    """A mail waiting for delivery (``citizen_portal.core.mail``). ``parts`` holds what the courier
    builds the message from (JSON: text, header fields, attachments or their specs); rows queued
    before it kept the whole RFC 5322 ``message``. Both are personal data: erased when the mail is
    sent or given up."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    parts: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))  # of the request that queued it (logs only)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobLease(db.Model):
    """One row per periodic job (``citizen_portal.core.job_leases``): the worker that set
    ``leased_until`` into the future runs the job; ``due_at`` is when the next period starts."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    leased_until: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    leased_by: Mapped[str | None] = mapped_column(String(100))
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
class ApiClient(db.Model):
    """Software, not a person, using the API (OAuth 2.0 client credentials). Only the SHA-256 of the
    secret is stored. ``scopes`` are names of ``core.scopes.SCOPES``; ``location_ids`` /
    ``staff_usernames`` (``None``: no restriction) limit what the client sees."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    location_ids: Mapped[list[int] | None] = mapped_column(JSON)
    staff_usernames: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiAccessToken(db.Model):
    """An access token issued to an API client by ``POST /oauth/token``: SHA-256 only, expiring."""

    __tablename__ = "api_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WebhookSubscription(db.Model):
    """Where an API client wants events delivered (Standard Webhooks). ``secret`` is the ``whsec_``
    signing key (it must be usable to sign, so it is stored, never logged, shown once)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GraphSubscription(db.Model):
    """A Graph change-notification subscription (``POST /graph/v1.0/subscriptions``): who made it
    (``principal`` = ``Principal.key``, re-checked for ``permission``), the resource as sent and the
    ``topics`` it listens to (``calendar:<key>``, ``room:<key>``, ``business:<key>``), ``item_path``
    and ``odata_type`` of its notifications. Its notifications are webhook events delivered through
    the outbox (``core.webhooks.graph``), signed with ``secret`` (``whsec_``) as Standard Webhooks too.
    ``warned_at``: ``reauthorizationRequired`` sent; ``removed_at``: ``subscriptionRemoved`` sent, no
    more notifications."""

    __tablename__ = "graph_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(120))
    permission: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(300))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    item_path: Mapped[str] = mapped_column(String(300))
    odata_type: Mapped[str] = mapped_column(String(80))
    change_types: Mapped[str] = mapped_column(String(60))
    client_state: Mapped[str | None] = mapped_column(String(255))
    notification_url: Mapped[str] = mapped_column(String(2000))
    lifecycle_url: Mapped[str | None] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEvent(db.Model):
    """An event of the outbox, written in the transaction of the change it reports. ``id`` is the
    ``webhook-id`` (``msg_…``); ``location_id``/``staff_username`` only decide which restricted
    clients may receive it; ``personal`` is sent only to clients whose scope allows it."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    personal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    location_id: Mapped[int | None] = mapped_column(Integer)
    staff_username: Mapped[str | None] = mapped_column(String(64))
    # an event that must be announced once (a poll opening at a time): a second emit with the key is skipped
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WebhookDelivery(db.Model):
    """One event for one subscription: delivered at most once after a 2xx (unique pair, claimed
    with a lease before sending), retried with backoff until ``WEBHOOK_RETRY_HOURS``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
                      Index("uq_webhook_deliveries_pair", "subscription_id", "event_id", unique=True),
                      Index("uq_webhook_deliveries_graph_pair", "graph_subscription_id", "event_id", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    # one of the two: a platform webhook subscription, or a Graph change-notification subscription
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    graph_subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("graph_subscriptions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(db.Model):
    """The delivery log: one row per request sent (status code, or the kind of network error)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(100))
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class IdempotentAnswer(db.Model):
    """The first answer to a POST with an ``Idempotency-Key``, per principal and key, replayed for 24 hours
    (``citizen_portal.core.idempotency``). ``body`` is the answer as sent (it may carry a manage token:
    the row is deleted once it is older than the replay window)."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
