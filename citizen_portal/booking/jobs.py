"""Periodic jobs of appointment booking, run by the worker (``flask worker``):
hold expiry (every minute), reminders (every 5 minutes), erasure of personal data (hourly); the
booking horizon the busy-time mirror must cover; the slot cache's link to staff room bookings; the
appointment webhook event types."""

from flask import Flask

from citizen_portal.core.horizons import register_booking_horizon
from citizen_portal.core.jobs import register_job
from citizen_portal.core.webhooks import register_event_type


def _expire_holds() -> int:
    from citizen_portal.booking.services import expire_holds

    return expire_holds()


def _send_reminders() -> int:
    from citizen_portal.booking.services import send_reminders

    return send_reminders()


def _erase_personal_data() -> int:
    from citizen_portal.booking.services import erase_personal_data

    return erase_personal_data()


def _longest_horizon() -> int:
    from citizen_portal.booking.services.slot_engine import longest_horizon_days

    return longest_horizon_days()


def register(app: Flask) -> None:
    """Register this area's periodic jobs with ``citizen_portal.core.jobs.register_job``, its booking
    horizon (the longest of the active services) with ``register_booking_horizon``, and the slot
    cache's invalidation when a staff member's room bookings change."""
    from citizen_portal.booking.services.cache import invalidate_for_staff_bookings
    from citizen_portal.booking.services.webhook_events import EVENT_TYPES
    from staff_calendar.services import staff_bookings_changed

    staff_bookings_changed.connect(invalidate_for_staff_bookings)
    register_booking_horizon(app, "booking.services", _longest_horizon)
    register_job(app, "booking.expire_holds", _expire_holds, every_seconds=60)
    register_job(app, "booking.send_reminders", _send_reminders, every_seconds=300)
    register_job(app, "booking.erase_personal_data", _erase_personal_data, every_seconds=3600)
    for event_type in EVENT_TYPES:
        register_event_type(app, event_type)
