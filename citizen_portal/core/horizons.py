"""Registry of booking horizons: how many days ahead each package lets people book against staff or
room calendars. The busy-time mirror covers the furthest of them, so no bookable day is judged
without the staff member's calendar."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask


def register_booking_horizon(app: Flask, name: str, days: Callable[[], int]) -> None:
    """Register how many days ahead ``name`` lets people book against staff or room calendars
    (``days`` is called in an app context and may query the database). The busy-time mirror covers
    the furthest of them (``booking_horizon_days``)."""
    horizons: dict[str, Callable[[], int]] = app.extensions.setdefault("booking_horizons", {})
    horizons[name] = days


def booking_horizon_days(app: Flask) -> int:
    """The furthest registered booking horizon in days (0 when none is registered)."""
    return max((int(days() or 0) for days in app.extensions.get("booking_horizons", {}).values()), default=0)
