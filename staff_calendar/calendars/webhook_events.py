"""The calendar event other software can subscribe to (signed webhooks, ``citizen_portal.core.webhooks``):
``calendar.sync_failed`` when a calendar's mirror sync fails after it last succeeded (once per outage,
not at every retry). Payload: the calendar key (``staff:<username>`` or a room's key) and the time; the
error text is not sent (it may name servers). Scope ``Calendars.Read``."""

from __future__ import annotations

from citizen_portal.core.i18n import _l
from citizen_portal.core.webhooks import EventType, emit_event

EVENT_TYPES = (
    EventType("calendar.sync_failed", "Calendars.Read",
              _l("Ein Kalender konnte nicht abgeglichen werden (erste Störung nach einem Erfolg).")),
)


def emit_sync_failed(calendar_key: str) -> None:
    """In the caller's transaction (``mirror.record_failure``)."""
    staff = calendar_key.removeprefix("staff:") if calendar_key.startswith("staff:") else None
    emit_event("calendar.sync_failed", {"calendar": calendar_key}, staff_username=staff)
