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
