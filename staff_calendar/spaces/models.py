"""Spaces staff can book: floors, desks and meeting rooms, as loaded from the site file."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citizen_portal.extensions import db


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
