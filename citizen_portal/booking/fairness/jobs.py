"""Periodic jobs of fair access, run by the worker (``flask worker``): expiring offers and passing
them on (every minute), creating release windows and drawing closed ones (every minute), ending
unconfirmed, booked-elsewhere and old waiting-list entries (hourly)."""

from flask import Flask

from citizen_portal.core.jobs import register_job


def _expire_offers() -> int:
    from citizen_portal.booking.fairness.offers import expire_offers

    return expire_offers()


def _release_windows() -> int:
    from citizen_portal.booking.fairness.lottery import draw_due, ensure_windows

    return ensure_windows() + draw_due()


def _clean_up() -> int:
    from citizen_portal.booking.fairness.waiting_list import clean_up

    return clean_up()


def register(app: Flask) -> None:
    """Register the fair-access jobs with ``citizen_portal.core.jobs.register_job``."""
    register_job(app, "booking.waiting_list_offers", _expire_offers, every_seconds=60)
    register_job(app, "booking.release_windows", _release_windows, every_seconds=60)
    register_job(app, "booking.waiting_list_clean_up", _clean_up, every_seconds=3600)
