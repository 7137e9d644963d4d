"""What ``/api/v1`` answers about fair access (the waiting list and release-window requests)."""

from __future__ import annotations

from pydantic import Field

from citizen_portal.core.api import Out


class AcceptedOut(Out):
    status: str = Field(description="`confirmation_sent`: a link went to the address (or it is already on the list)",
                        examples=["confirmation_sent"])


class WaitingEntryOut(Out):
    id: int = Field(examples=[42])
    service: str = Field(examples=["personalausweis"])
    status: str = Field(description="unconfirmed, waiting, offered, booked or left", examples=["waiting"])
    people_ahead: int = Field(description="A band, not the exact place: exact below 5, then rounded",
                              examples=[20])
    preferences: dict = Field(examples=[{"locations": [], "weekdays": [1, 3], "parts": ["morning"]}])


class ConfirmedEntryOut(WaitingEntryOut):
    manage_token: str = Field(description="Shown once: Bearer token for status and leaving")


class ReleaseRequestOut(Out):
    id: int = Field(examples=[7])
    day: str = Field(description="The day whose times are allocated", examples=["2026-03-17"])
    confirmed: bool
    result: str | None = Field(description="won, lost, or null before the draw", examples=[None])
