"""What ``/api/v1`` answers about desks and rooms: the ``Out`` models the API views return and the
OpenAPI document describes (inputs are in ``schemas``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from citizen_portal.core.api import Out


class Halves(Out):
    morning: bool
    afternoon: bool


class DeskOut(Out):
    key: str = Field(examples=["2.14"])
    label: str | None = Field(default=None, examples=["Fensterplatz"])
    floor: str = Field(examples=["og2"])
    attributes: list[str] = Field(examples=[["monitor"]])
    free: Halves = Field(description="Not booked, not blocked, not closed")
    bookable: Halves = Field(description="Free and still bookable now")
    blocked: str | None = Field(default=None, description="Reason of a block, if blocked")


class DeskDayOut(Out):
    date: str = Field(examples=["2026-03-03"])
    closed: str | None = Field(default=None, description="Why the day is closed, if it is")
    desks: list[DeskOut]


class DeskBookingOut(Out):
    id: int
    ids: list[int] = Field(description="One id per booked half")
    desk: str
    floor: str
    date: str = Field(examples=["2026-03-03"])
    part: Literal["day", "morning", "afternoon"]
    checked_in: bool


class DeskBookingListOut(Out):
    bookings: list[DeskBookingOut]


class RoomOut(Out):
    key: str = Field(examples=["sitzung-1"])
    name: str
    floor: str
    capacity: int
    attributes: list[str]


class RoomListOut(Out):
    rooms: list[RoomOut]


class Interval(Out):
    start: str = Field(description="RFC 3339, UTC", examples=["2026-03-03T08:00:00Z"])
    end: str = Field(examples=["2026-03-03T09:00:00Z"])


class BusyInterval(Interval):
    source: str


class RoomAvailabilityOut(Out):
    room: str
    date: str
    capacity: int
    hours: list[Interval]
    busy: list[BusyInterval]
    bookable: list[Interval] = Field(description="What can still be booked now, on the grid")


class RoomBookingOut(Out):
    id: int
    room: str
    start: str = Field(examples=["2026-03-03T08:00:00Z"])
    end: str = Field(examples=["2026-03-03T09:00:00Z"])
    title: str
    attendees: int


class RoomBookingListOut(Out):
    bookings: list[RoomBookingOut]
