"""Periodic jobs of this area, run by the worker. Stub: filled in by the issue that owns it."""

from flask import Flask


def register(app: Flask) -> None:
    """Register this area's periodic jobs with ``citizen_portal.jobs.register_job``."""
