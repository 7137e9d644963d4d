"""Typed input of the Graph Bookings endpoints (``booking/graph_api.py``): shapes only. Graph bodies
carry many properties the platform does not use (``@odata.type``, ``isLocationOnline``, ``price`` ...):
they are ignored. The customer's contact data are then checked by ``schemas.Contact``, the booking
form's model, so the Bookings API gives the same field messages as the form."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GraphInput(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True, populate_by_name=True)


class CustomerInput(GraphInput):
    name: str | None = Field(None, max_length=300)
    email_address: str | None = Field(None, alias="emailAddress", max_length=300)
    phone: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=2000)


class AppointmentInput(GraphInput):
    """``POST/PATCH /solutions/bookingBusinesses/{id}/appointments[/{id}]``: the customer as ``customers[0]``
    or the older ``customerName``/``customerEmailAddress``/``customerPhone``/``customerNotes``."""

    service_id: str | None = Field(None, alias="serviceId", max_length=64)
    start_date_time: dict[str, Any] | None = Field(None, alias="startDateTime")
    end_date_time: dict[str, Any] | None = Field(None, alias="endDateTime")
    customers: list[CustomerInput] | None = Field(None, max_length=1)
    customer_name: str | None = Field(None, alias="customerName", max_length=300)
    customer_email_address: str | None = Field(None, alias="customerEmailAddress", max_length=300)
    customer_phone: str | None = Field(None, alias="customerPhone", max_length=100)
    customer_notes: str | None = Field(None, alias="customerNotes", max_length=2000)


class CancelInput(GraphInput):
    cancellation_message: str | None = Field(None, alias="cancellationMessage", max_length=2000)


class StaffAvailabilityInput(GraphInput):
    """``POST .../getStaffAvailability``: key case does not matter (``lower_keys`` before parsing)."""

    staffids: list[str] = Field(min_length=1, max_length=50)
    startdatetime: dict[str, Any]
    enddatetime: dict[str, Any]
