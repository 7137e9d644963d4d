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
    """A rendered mail waiting for delivery (``citizen_portal.core.mail``). ``message`` holds the whole
    RFC 5322 message (personal data): it is erased when the mail is sent or given up."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
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
