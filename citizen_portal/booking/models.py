"""Appointments and the claims that keep two of them off the same staff time.

No double booking, in three layers (each alone would be enough for its own case):

1. ``write_transaction`` takes one lock per staff member and local day (``locks.staff_day``, plus
   ``locks.person_day`` shared with her own room bookings; ``services/claim.py``) before the service
   re-checks the database, so two bookings of overlapping times with different durations for one
   staff member are serialised and the second one sees the first.
2. ``SlotClaim`` rows exist exactly for *active* appointments (pending with a live hold, confirmed,
   arrived, no-show) and carry ``UNIQUE(staff_id, start_at)``: even a writer that forgot the lock
   cannot insert a second appointment at the very same start for the same staff member.
3. On PostgreSQL the claims table also has ``EXCLUDE USING gist (staff_id WITH =,
   tstzrange(start_at, blocked_until) WITH &&)`` (extension ``btree_gist``): overlapping ranges,
   buffer included, are refused by the database itself. SQLite has no such constraint; there the
   database-wide write lock of ``BEGIN IMMEDIATE`` serialises all writers anyway.

Personal data (``name``, ``email``, ``phone``, ``note``, ``email_hash``, ``session_hash``,
``client_hash`` and the token material) is
erased ``erase_after_days`` after the appointment; ``erased_at`` records when. What stays is
anonymous: service, location, staff member, times and status, for statistics. ``email_hash`` (an
HMAC of the lower-cased address keyed with ``SECRET_KEY``) exists only to enforce the per-address
limit on *active* appointments; an erased appointment is never active, so the hash is erased too.
``session_hash`` and ``client_hash`` (HMACs of the browser session and of the client's address
bucket, ``services/holds.py``) exist only to limit living holds per session and per client.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.booking.settings import SERVICE_DEFAULTS
from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db

# ------------------------------------------------------------ the set-up (loaded from the site file)

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
    # what citizens need to know (site file): phone, email, step_free {de, en}, payment {de, en}
    info: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    services: Mapped[list[Service]] = relationship(
        secondary=service_locations, back_populates="locations", order_by="Service.id"
    )


class Service(db.Model):
    """Something a citizen books: a duration, a buffer after it, lead time and horizon (declared with
    their defaults and ranges in ``citizen_portal.booking.settings.ServiceSettings``)."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    description: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # documents to bring: {"de": ["Personalausweis", ...], "en": [...]}
    documents: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["buffer_minutes"])
    min_lead_hours: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["min_lead_hours"])
    horizon_days: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["horizon_days"])
    email_confirmation: Mapped[bool] = mapped_column(Boolean, default=SERVICE_DEFAULTS["email_confirmation"])
    max_active_per_email: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["max_active_per_email"])
    # what citizens need to know (site file): fees {de, en}, needs_consent (Art. 6(1)(a) instead of (e))
    info: Mapped[dict] = mapped_column(JSON, default=dict)
    # fair access (booking/fairness/): waiting list and release windows
    waiting_list: Mapped[str] = mapped_column(String(12), default=SERVICE_DEFAULTS["waiting_list"])
    offer_hours: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["offer_hours"])
    offer_group_size: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["offer_group_size"])
    release_days_ahead: Mapped[int | None] = mapped_column(Integer)
    release_hour: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["release_hour"])
    release_window_minutes: Mapped[int] = mapped_column(Integer, default=SERVICE_DEFAULTS["release_window_minutes"])
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    locations: Mapped[list[Location]] = relationship(  # in the order they were created, on every database
        secondary=service_locations, back_populates="services", order_by="Location.id"
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

    locations: Mapped[list[Location]] = relationship(secondary=staff_locations, order_by="Location.id")
    services: Mapped[list[Service]] = relationship(secondary=staff_services, order_by="Service.id")


# ------------------------------------------------------------ appointments

PENDING = "pending_confirmation"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
ARRIVED = "arrived"
NO_SHOW = "no_show"
EXPIRED = "expired"
STATUSES = (PENDING, CONFIRMED, CANCELLED, ARRIVED, NO_SHOW, EXPIRED)
# statuses that occupy staff time (a pending one only while its hold lives)
ACTIVE_STATUSES = (PENDING, CONFIRMED, ARRIVED, NO_SHOW)


class Appointment(db.Model):
    """One booking of a service at a location with one staff member, ``[start_at, end_at)`` in UTC.

    ``blocked_until`` = ``end_at`` + the service's buffer at booking time: the staff member's time
    is occupied until then. ``code`` is the short code shown to the citizen ("K7M-4QX"); it is not
    a secret: every citizen action also needs the manage token (only its SHA-256 is stored).
    ``token_nonce`` lets the server re-derive the manage token for the reminder mail
    (HMAC with ``SECRET_KEY``; see ``services.codes.manage_token_for``). ``sequence`` is the
    iTIP SEQUENCE of the event in the citizen's and the staff member's calendar; ``calendar_uid`` the
    random part of its UID (nobody can guess another appointment's UID)."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_confirmation', 'confirmed', 'cancelled', 'arrived', 'no_show', 'expired')",
            name="status",
        ),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        CheckConstraint("blocked_until >= end_at", name="blocked_after_end"),
        Index("ix_appointments_staff_start", "staff_id", "start_at"),
        Index("ix_appointments_status_start", "status", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(24), default=CONFIRMED)
    language: Mapped[str] = mapped_column(String(8), default="de")
    # personal data: erased erase_after_days after the appointment
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    session_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    client_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    token_nonce: Mapped[str | None] = mapped_column(String(64))
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # life cycle
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # random part of the calendar UID (``calendar_events.appointment_uid``); NULL for appointments made
    # before it existed, whose events keep their old UID ``appointment-<id>@…``
    calendar_uid: Mapped[str | None] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # arrived / no-show set
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)
    staff: Mapped[StaffMember] = relationship(lazy="joined", innerjoin=True)


class SlotClaim(db.Model):
    """The staff time an active appointment occupies: ``[start_at, blocked_until)``.

    Inserted with the appointment, moved with it, deleted when it is cancelled or its hold
    expires. ``UNIQUE(staff_id, start_at)`` on every database, plus (PostgreSQL) an exclusion
    constraint on overlapping ranges, see the module docstring."""

    __tablename__ = "appointment_slot_claims"
    __table_args__ = (
        UniqueConstraint("staff_id", "start_at"),
        ExcludeConstraint(
            ("staff_id", "="),
            (func.tstzrange(db.column("start_at"), db.column("blocked_until")), "&&"),
            name="ex_appointment_slot_claims_overlap",
            using="gist",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), unique=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime())


# tables whose changes can change the free slots of some service (besides the calendar mirror)
SLOT_INPUT_TABLES = (
    "appointments", "locations", "services", "staff_members", "staff_locations", "staff_services",
    "service_locations", "site_settings", "booking_reservations", "release_windows",
)


class SlotVersion(db.Model):
    """One row (``id = 1``) whose ``token`` is replaced by a random value in the same transaction as
    every change of the slot engine's inputs (``SLOT_INPUT_TABLES``): database triggers, created by
    migration ``0202_booking_slot_version``, so every writer (any worker, the admin UI, the site
    loader, the CLI, plain SQL) is covered. The slot cache (``services/cache.py``) keys its entries
    with the token read *before* its data, so a committed change is seen by the very next request in
    every process. A random token (not a counter) never repeats after a rollback."""

    __tablename__ = "booking_slot_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class StaffDayVersion(db.Model):
    """The slot input version of one staff member's appointments on one version day (the UTC date
    of a time + 2 hours, i.e. the local date in Germany; ``cache.version_day``): raised by row
    triggers (migration ``2201_booking_staff_day_versions``) in the transaction of every insert,
    update or delete of an appointment, for the version days of its old and new ``start_at`` and
    ``blocked_until``. A fresh
    number that only grows, so the *sum* over the rows a cached slot answer covers changes with
    every committed change of one of them (``services/cache.py``), whatever order transactions
    commit in. Bookings of different staff members never write the same row."""

    __tablename__ = "booking_staff_day_versions"

    staff_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
