"""Typed input of the Graph subscription endpoints (``/graph/v1.0/subscriptions``): shapes only (the rules
are in ``subscriptions``). Properties this platform does not use are ignored, never an error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionInput(BaseModel):
    """``POST /subscriptions`` and ``PATCH /subscriptions/{id}`` (PATCH: only the properties sent)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True, populate_by_name=True)

    change_type: str | None = Field(None, alias="changeType", max_length=60)
    notification_url: str | None = Field(None, alias="notificationUrl", max_length=2000)
    lifecycle_notification_url: str | None = Field(None, alias="lifecycleNotificationUrl", max_length=2000)
    resource: str | None = Field(None, max_length=300)
    expiration_date_time: str | None = Field(None, alias="expirationDateTime", max_length=40)
    client_state: str | None = Field(None, alias="clientState", max_length=255)
    include_resource_data: bool | None = Field(None, alias="includeResourceData")
    latest_supported_tls_version: str | None = Field(None, alias="latestSupportedTlsVersion", max_length=10)
