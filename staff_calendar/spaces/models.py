"""Spaces staff can book: floors, desks and meeting rooms, as loaded from the site file."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.core.database import UTCDateTime, utcnow
from citizen_portal.core.extensions import db


class Floor(db.Model):
    __tablename__ = "floors"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    # overrides the site's desk days per person and week (None: the site's default)
    desk_days_per_week: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    desks: Mapped[list[Desk]] = relationship(back_populates="floor", order_by="Desk.key")
    rooms: Mapped[list[Room]] = relationship(back_populates="floor", order_by="Room.key")


class Desk(db.Model):
    """A flexible desk; ``attributes`` such as monitor, standing, accessible; ``x``/``y`` place it
    on the floor plan (0..100, percent of the plan's width and height)."""

    __tablename__ = "desks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    floor: Mapped[Floor] = relationship(back_populates="desks")


class Room(db.Model):
    """A meeting room; its optional CalDAV calendar counts toward its busy time."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floors.id"), index=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    attributes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # bookable hours, e.g. {"mon": ["07:00-19:00"], ...}; empty: 07:00-19:00 on working days
    opening_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    calendar_key: Mapped[str | None] = mapped_column(
        ForeignKey("calendar_links.key", ondelete="SET NULL")
    )
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the site file's ``public`` table (``site.schema.PublicRoomSpec``): None = staff only
    public: Mapped[dict | None] = mapped_column(JSON)

    floor: Mapped[Floor] = relationship(back_populates="rooms")


# --- bookings (issue 5) -------------------------------------------------------------------------

HALVES = ("morning", "afternoon")


class DeskBooking(db.Model):
    """One desk for one half day. A whole day is two rows sharing ``group_uid`` (one calendar
    event). Cancelled or released bookings are deleted at once; past ones after the retention."""

    __tablename__ = "desk_bookings"
    __table_args__ = (
        UniqueConstraint("desk_id", "day", "half", name="uq_desk_bookings_desk_day_half"),
        UniqueConstraint("user_id", "day", "half", name="uq_desk_bookings_user_day_half"),
        CheckConstraint("half IN ('morning', 'afternoon')", name="half_valid"),
        Index("ix_desk_bookings_day", "day"),
        Index("ix_desk_bookings_day_created", "day", "created_at"),  # the answer's fingerprint reads indexes only
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    half: Mapped[str] = mapped_column(String(9))
    group_uid: Mapped[str] = mapped_column(String(64), index=True)
    series_uid: Mapped[str | None] = mapped_column(String(64))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    desk: Mapped[Desk] = relationship()


class RoomBooking(db.Model):
    """A room for a time range ``[start_at, end_at)``. On PostgreSQL an exclusion constraint
    (created by the migration) forbids overlaps per room; cancelled bookings are deleted."""

    __tablename__ = "room_bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="range_valid"),
        CheckConstraint("attendees >= 1", name="attendees_positive"),
        Index("ix_room_bookings_room_start", "room_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int] = mapped_column(Integer, default=1)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    room: Mapped[Room] = relationship()


class SpaceBlock(db.Model):
    """An admin's block of one desk or one room for the days ``first_day..last_day``."""

    __tablename__ = "space_blocks"
    __table_args__ = (
        CheckConstraint("(desk_id IS NULL) <> (room_id IS NULL)", name="one_target"),
        CheckConstraint("last_day >= first_day", name="days_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    desk: Mapped[Desk | None] = relationship()
    room: Mapped[Room | None] = relationship()


class FeedToken(db.Model):
    """The secret of a person's iCal feed URL; only its SHA-256 is stored. Revoke = delete."""

    __tablename__ = "space_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- rooms for citizens and associations (issue 16) --------------------------------------------

REQUEST_STATUSES = ("unverified", "pending", "approved", "declined", "cancelled")
USE_STATUSES = ("wanted", "held", "confirmed", "taken", "declined", "cancelled")
HOLDING_USES = ("held", "confirmed")  # the uses that make a room busy


class RoomRequest(db.Model):
    """A citizen's or association's request for a public room: one date or a weekly series
    (``uses``). Personal data (name, e-mail, organisation, purpose) is erased by the worker
    ``public_erase_after_days`` after the last use; only SHA-256 hashes of the links are stored."""

    __tablename__ = "room_requests"
    __table_args__ = (
        CheckConstraint("attendees >= 1", name="attendees_positive"),
        CheckConstraint("status IN ('unverified', 'pending', 'approved', 'declined', 'cancelled')",
                        name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="unverified")
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    # keyed hashes of the normalised address and organisation: the monthly hours are counted by them
    email_key: Mapped[str] = mapped_column(String(64), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    organisation_key: Mapped[str | None] = mapped_column(String(64), index=True)
    show_organisation: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str] = mapped_column(String(1000))
    attendees: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(5), default="de")
    verify_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    room: Mapped[Room] = relationship()
    uses: Mapped[list[RoomUse]] = relationship(back_populates="request", order_by="RoomUse.start_at",
                                               cascade="all, delete-orphan")


class RoomUse(db.Model):
    """One date of a request, ``[start_at, end_at)``. ``held`` (tentative) and ``confirmed`` uses make
    the room busy for staff bookings and other requests alike (``services.public_busy``)."""

    __tablename__ = "room_uses"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="range_valid"),
        CheckConstraint("status IN ('wanted', 'held', 'confirmed', 'taken', 'declined', 'cancelled')",
                        name="status_valid"),
        Index("ix_room_uses_room_start", "room_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("room_requests.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="wanted")
    no_show: Mapped[bool] = mapped_column(Boolean, default=False)
    uid: Mapped[str] = mapped_column(String(64), unique=True)

    request: Mapped[RoomRequest] = relationship(back_populates="uses")
