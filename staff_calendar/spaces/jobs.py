"""Periodic jobs of the spaces area, run by the worker: automatic release of desk bookings not
checked in (only when the site turns check-in on) and deletion after the retention period; and the
room booking horizon the busy-time mirror must cover."""

from __future__ import annotations

from flask import Flask

from citizen_portal.core.horizons import register_booking_horizon
from citizen_portal.core.jobs import register_job
from citizen_portal.core.webhooks import register_event_type


def _release() -> object:
    from staff_calendar.spaces.services.housekeeping import release_unchecked

    return release_unchecked()


def _purge() -> object:
    from staff_calendar.spaces.services.housekeeping import purge_expired

    return purge_expired()


def _room_horizon() -> int:
    """Staff book rooms ``horizon_days`` ahead; where rooms are public, citizens reach further."""
    from staff_calendar.spaces.services.common import load_settings
    from staff_calendar.spaces.services.public_rooms import public_rooms

    settings = load_settings()
    if not public_rooms():
        return settings.horizon_days
    return max(settings.horizon_days, settings["public_horizon_days"])


def _erase_room_requests() -> object:
    from staff_calendar.spaces.services.public_requests import erase_expired

    return erase_expired()


def register(app: Flask) -> None:
    """Register this area's periodic jobs with ``citizen_portal.core.jobs.register_job`` and the room
    booking horizon (room calendars are mirrored that far) with ``register_booking_horizon``."""
    register_booking_horizon(app, "spaces.rooms", _room_horizon)
    register_job(app, "spaces.release_unchecked", _release, every_seconds=300)
    register_job(app, "spaces.purge_expired", _purge, every_seconds=6 * 3600)
    register_job(app, "spaces.public-erasure", _erase_room_requests, every_seconds=3600)
    from staff_calendar.spaces.services.webhook_events import EVENT_TYPES

    for event_type in EVENT_TYPES:  # desk and room booking events for webhooks
        register_event_type(app, event_type)
