"""Tables of fair access (issue 15): the waiting list, its offers, times withheld from the public
(``Reservation``) and release windows with their lottery requests.

Personal data (``email``, ``name``, ``email_hash``) sits only in ``WaitingEntry`` and
``ReleaseRequest``; it is erased when the entry ends or after ``waiting_list_retention_days``.
Offers, reservations, windows and their allocation log carry ids and times only.
Tokens (double opt-in, status/leave link, offer link, request confirmation) are stored as SHA-256.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.booking.models import Location, Service
from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db

# waiting list entry states
UNCONFIRMED = "unconfirmed"   # joined, double opt-in link not yet followed
WAITING = "waiting"           # on the list
OFFERED = "offered"           # holds an open offer
BOOKED = "booked"             # accepted an offer (or booked elsewhere)
LEFT = "left"                 # left by the link, or removed (retention)
ENTRY_STATUSES = (UNCONFIRMED, WAITING, OFFERED, BOOKED, LEFT)
ENTRY_ACTIVE = (WAITING, OFFERED)

# offer states
OPEN, ACCEPTED, EXPIRED, LOST, WITHDRAWN = "open", "accepted", "expired", "lost", "withdrawn"
OFFER_STATUSES = (OPEN, ACCEPTED, EXPIRED, LOST, WITHDRAWN)


class WaitingEntry(db.Model):
    """One person on the waiting list of a service. ``preferences``: ``{"locations": [keys],
    "weekdays": [0..6], "parts": ["morning", "afternoon"]}`` (empty list: any). Position: waiting
    entries ordered by ``priority`` (1 after losing an accepted offer to someone faster), then
    ``confirmed_at``, then ``id``."""

    __tablename__ = "waiting_list_entries"
    __table_args__ = (CheckConstraint(
        "status IN ('unconfirmed', 'waiting', 'offered', 'booked', 'left')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=UNCONFIRMED, index=True)
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="de")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # personal data, erased when the entry ends
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    link_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last confirmation/status link
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(24))

    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)


class Reservation(db.Model):
    """A time of a service at a location withheld from the public while it is offered to the
    waiting list. ``seats``: how many appointments at that time were freed and not yet taken again
    (two staff members' cancellations at 09:00 are two seats). ``freed_appointment_id``: the first
    cancelled appointment that freed it (an offer's booking ignores the cancellation delay of every
    cancelled appointment at this time)."""

    __tablename__ = "booking_reservations"
    __table_args__ = (UniqueConstraint("service_id", "location_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    freed_appointment_id: Mapped[int | None] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)


class WaitingOffer(db.Model):
    """A reserved time offered to one waiting entry until ``expires_at``."""

    __tablename__ = "waiting_list_offers"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'expired', 'lost', 'withdrawn')", name="status"),
        UniqueConstraint("reservation_key", "entry_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waiting_list_entries.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # "<service_id>:<location_id>:<start ISO>": one offer per entry and time, even after the reservation ends
    reservation_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=OPEN, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_id: Mapped[int | None] = mapped_column(Integer)

    entry: Mapped[WaitingEntry] = relationship(lazy="joined", innerjoin=True)
    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)


# release windows
COLLECTING, DRAWN = "collecting", "drawn"


class ReleaseWindow(db.Model):
    """The contingent of one service for one local ``day``: requests are collected in
    ``[opens_at, closes_at)``, then the lottery draws (``seed`` and ``allocation`` =
    ``[[request id, start ISO or null], ...]`` kept for audit; nothing personal). Until drawn, the
    day's times are withheld from first-come-first-served booking."""

    __tablename__ = "release_windows"
    __table_args__ = (
        UniqueConstraint("service_id", "day"),
        CheckConstraint("status IN ('collecting', 'drawn')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default=COLLECTING)
    seed: Mapped[str | None] = mapped_column(String(64))
    allocation: Mapped[list | None] = mapped_column(JSON)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)


class ReleaseRequest(db.Model):
    """One verified person's request in a window (one per normalised address: the unique key)."""

    __tablename__ = "release_requests"
    __table_args__ = (UniqueConstraint("window_id", "email_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("release_windows.id", ondelete="CASCADE"), index=True)
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(8), default="de")
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_hash: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    link_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last confirmation link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[str | None] = mapped_column(String(8))  # won / lost
    appointment_id: Mapped[int | None] = mapped_column(Integer)

    window: Mapped[ReleaseWindow] = relationship(lazy="joined", innerjoin=True)
