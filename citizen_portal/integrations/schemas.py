"""Typed input of the API-client admin page and the webhook API (shapes only; rules in the core services)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from citizen_portal.core.schemas import Flag, Id, Schema, SingleLine

EventTypeName = Annotated[str, Field(min_length=1, max_length=64)]


class NewClient(Schema):
    """The admin page's "new API client" form."""

    name: SingleLine[100]
    scopes: list[SingleLine[64]] = Field(default_factory=list, max_length=50)
    locations: list[Id] = Field(default_factory=list, max_length=500)
    staff: str = Field(default="", max_length=2000)  # usernames separated by commas or spaces


class NewWebhook(Schema):
    """``POST /api/v1/webhooks`` and the admin page's "new webhook" form."""

    url: SingleLine[2000]
    event_types: list[EventTypeName] = Field(min_length=1, max_length=50)
    description: str = Field(default="", max_length=200)


class WebhookChanges(Schema):
    """``PATCH /api/v1/webhooks/<id>``: what is given changes."""

    url: SingleLine[2000] | None = None
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    active: Flag | None = None
