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
