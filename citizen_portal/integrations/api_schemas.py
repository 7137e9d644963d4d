"""What ``/api/v1/webhooks`` answers: the ``Out`` models the views return and the OpenAPI document
describes (inputs are in ``schemas``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from citizen_portal.core.api import Out


class WebhookOut(Out):
    id: int
    url: str = Field(examples=["https://fachverfahren.musterhausen.example/hooks"])
    event_types: list[str] = Field(examples=[["appointment.booked"]])
    description: str
    active: bool
    created_at: str = Field(description="UTC, RFC 3339", examples=["2026-12-07T09:30:00Z"])


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The whsec_ signing key (Standard Webhooks); shown only in this answer",
                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class WebhookListOut(Out):
    webhooks: list[WebhookOut]


class EventTypeOut(Out):
    name: str = Field(examples=["appointment.booked"])
    scope: str = Field(description="The scope a client needs to subscribe to it", examples=["appointments.read"])
    description: str


class EventTypeListOut(Out):
    event_types: list[EventTypeOut]


class AttemptOut(Out):
    at: str = Field(examples=["2026-12-07T09:30:01Z"])
    status_code: int | None = Field(description="The receiver's HTTP status; null on a network error")
    error: str | None = Field(default=None, description="The kind of network error, if any")


class DeliveryOut(Out):
    id: int
    event_id: str = Field(description="The webhook-id header of the delivery", examples=["msg_2b0e4c…"])
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptOut]
    next_attempt_at: str | None = None
    delivered_at: str | None = None


class DeliveryListOut(Out):
    deliveries: list[DeliveryOut]
