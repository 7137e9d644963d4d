"""Typed input of the Graph calendar endpoints (``staff_calendar/graph_api.py``): shapes only.

Graph bodies carry many properties this platform does not store (``@odata.type``, ``isReminderOn``,
``responseRequested`` ...): they are ignored, never an error. What is read is checked here: text
lengths, the documented enum values, at most 100 attendees and 20 categories."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citizen_portal.core.schemas import Email


class GraphInput(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True, populate_by_name=True)


class ItemBody(GraphInput):
    content_type: Literal["text", "html", "Text", "HTML", "Html"] = Field("text", alias="contentType")
    content: str = Field("", max_length=20000)


class LocationInput(GraphInput):
    display_name: str = Field("", alias="displayName", max_length=255)
    location_email_address: Email | None = Field(None, alias="locationEmailAddress")


class EmailAddressInput(GraphInput):
    address: Email
    name: str | None = Field(None, max_length=200)


class AttendeeInput(GraphInput):
    type: Literal["required", "optional", "resource"] = "required"
    email_address: EmailAddressInput = Field(alias="emailAddress")


class DateTimeTimeZone(GraphInput):
    date_time: str = Field(alias="dateTime", max_length=40)
    time_zone: str = Field("UTC", alias="timeZone", max_length=100)


ShowAs = Literal["unknown", "free", "tentative", "busy", "oof", "workingElsewhere"]
Sensitivity = Literal["normal", "personal", "private", "confidential"]
Importance = Literal["low", "normal", "high"]


class EventInput(GraphInput):
    """``POST .../events`` and ``PATCH .../events/{id}`` (PATCH: only the properties sent)."""

    subject: str | None = Field(None, max_length=255)
    body: ItemBody | None = None
    start: DateTimeTimeZone | None = None
    end: DateTimeTimeZone | None = None
    location: LocationInput | None = None
    attendees: list[AttendeeInput] | None = Field(None, max_length=100)
    categories: list[str] | None = Field(None, max_length=20)
    show_as: ShowAs | None = Field(None, alias="showAs")
    sensitivity: Sensitivity | None = None
    importance: Importance | None = None
    is_all_day: bool | None = Field(None, alias="isAllDay")
    transaction_id: str | None = Field(None, alias="transactionId", max_length=200)
    recurrence: dict[str, Any] | None = None

    def sent(self) -> set[str]:
        """The fields the client sent (a PATCH changes only these)."""
        return set(self.model_fields_set)


class CancelInput(GraphInput):
    comment: str | None = Field(None, max_length=2000)


class ScheduleInput(GraphInput):
    """getSchedule: key case does not matter (``lower_keys`` before parsing); the interval may be a string."""

    schedules: list[str] = Field(min_length=1, max_length=100)
    starttime: dict[str, Any]
    endtime: dict[str, Any]
    availabilityviewinterval: int | str | None = None
