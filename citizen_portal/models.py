"""Core models: staff accounts and API tokens, the site, and the appointment set-up
(locations, services, staff members and who serves what where), as loaded from the site file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.database import UTCDateTime, utcnow
from citizen_portal.extensions import db


class User(db.Model):
    """A staff account (citizens never have one). ``roles`` is a comma-separated list."""

    __tablename__ = "users"

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
        return str(self.id)

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


service_locations = Table(
    "service_locations",
    db.metadata,
    Column("service_id", Integer, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)

staff_locations = Table(
    "staff_locations",
    db.metadata,
    Column("staff_id", Integer, ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True),
    Column("location_id", Integer, ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True),
)

staff_services = Table(
    "staff_services",
    db.metadata,
    Column("staff_id", Integer, ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", Integer, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Location(db.Model):
    """An office citizens visit. ``opening_hours``: ``{"mon": ["08:00-12:00", ...], ...}``;
    ``closures``: ISO dates on which it is closed (public holidays come from the site)."""

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    address: Mapped[str] = mapped_column(String(300), default="")
    opening_hours: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    closures: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    services: Mapped[list[Service]] = relationship(
        secondary=service_locations, back_populates="locations"
    )


class Service(db.Model):
    """Something a citizen books: a duration, a buffer after it, lead time and horizon."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    description: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # documents to bring: {"de": ["Personalausweis", ...], "en": [...]}
    documents: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_lead_hours: Mapped[int] = mapped_column(Integer, default=2)
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)
    email_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    max_active_per_email: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    locations: Mapped[list[Location]] = relationship(
        secondary=service_locations, back_populates="services"
    )


class StaffMember(db.Model):
    """A person who serves citizens. ``working_hours`` empty means the location's opening hours.
    ``key`` equals the username of the member's staff account, if any."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    working_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    calendar_key: Mapped[str | None] = mapped_column(
        ForeignKey("calendar_links.key", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)

    locations: Mapped[list[Location]] = relationship(secondary=staff_locations)
    services: Mapped[list[Service]] = relationship(secondary=staff_services)
