"""Periodic jobs of appointment booking, run by the worker (``flask staff-calendar worker``):
hold expiry (every minute), reminders (every 5 minutes), erasure of personal data (hourly)."""

from flask import Flask

from citizen_portal.core.jobs import register_job


def _expire_holds() -> int:
    from citizen_portal.booking.services import expire_holds

    return expire_holds()


def _send_reminders() -> int:
    from citizen_portal.booking.services import send_reminders

    return send_reminders()


def _erase_personal_data() -> int:
    from citizen_portal.booking.services import erase_personal_data

    return erase_personal_data()


def register(app: Flask) -> None:
    """Register this area's periodic jobs with ``citizen_portal.core.jobs.register_job``."""
    register_job(app, "booking.expire_holds", _expire_holds, every_seconds=60)
    register_job(app, "booking.send_reminders", _send_reminders, every_seconds=300)
    register_job(app, "booking.erase_personal_data", _erase_personal_data, every_seconds=3600)
