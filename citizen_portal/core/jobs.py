"""Registry of the periodic jobs the one worker (``flask worker``, ``citizen_portal.core.worker``) runs.

Each package registers its own jobs in ``create_app`` (outbox delivery and calendar sync, reminders,
purges, desk release, poll archiving). The worker knows only this registry. A job may return a short
message for the worker's console (never personal data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], object]
    every_seconds: float
    order: int = 100  # lower runs first within a round (delivering the outbox before everything else)


def register_job(app: Flask, name: str, run: Callable[[], object], every_seconds: float, *, order: int = 100) -> None:
    """Register ``run`` to be called by the worker inside an app context every ``every_seconds``."""
    jobs: dict[str, PeriodicJob] = app.extensions.setdefault("periodic_jobs", {})
    jobs[name] = PeriodicJob(name, run, every_seconds, order)


def registered_jobs(app: Flask) -> list[PeriodicJob]:
    return sorted(app.extensions.get("periodic_jobs", {}).values(), key=lambda job: (job.order, job.name))
