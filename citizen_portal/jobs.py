"""Registries the worker and the calendar bridge read: periodic jobs, health checks, booking horizons.

Each package registers its own entries in ``create_app`` (reminders, purges, desk release, poll
opening; how far ahead it lets people book). The worker and the busy-time mirror know only these
registries, so ``staff_calendar`` never imports the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], object]
    every_seconds: float


def register_job(app: Flask, name: str, run: Callable[[], object], every_seconds: float) -> None:
    """Register ``run`` to be called by the worker inside an app context every ``every_seconds``."""
    jobs: dict[str, PeriodicJob] = app.extensions.setdefault("periodic_jobs", {})
    jobs[name] = PeriodicJob(name, run, every_seconds)


def registered_jobs(app: Flask) -> list[PeriodicJob]:
    return sorted(app.extensions.get("periodic_jobs", {}).values(), key=lambda job: job.name)


def register_health_check(app: Flask, name: str, check: Callable[[], dict]) -> None:
    """Register a check for ``/healthz``: it returns a dict with at least ``{"ok": bool}``."""
    checks: dict[str, Callable[[], dict]] = app.extensions.setdefault("health_checks", {})
    checks[name] = check


def registered_health_checks(app: Flask) -> dict[str, Callable[[], dict]]:
    return dict(app.extensions.get("health_checks", {}))


def register_booking_horizon(app: Flask, name: str, days: Callable[[], int]) -> None:
    """Register how many days ahead ``name`` lets people book against staff or room calendars
    (``days`` is called in an app context and may query the database). The busy-time mirror covers
    the furthest of them (``booking_horizon_days``)."""
    horizons: dict[str, Callable[[], int]] = app.extensions.setdefault("booking_horizons", {})
    horizons[name] = days


def booking_horizon_days(app: Flask) -> int:
    """The furthest registered booking horizon in days (0 when none is registered)."""
    return max((int(days() or 0) for days in app.extensions.get("booking_horizons", {}).values()), default=0)
