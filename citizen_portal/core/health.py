"""Registry of health checks for ``/healthz``: each package registers its own checks in ``create_app``.

A check reads only the database (no network on ``/healthz``) and returns a dict with at least
``{"ok": bool}``; ``/healthz`` answers 503 when one of them is not ok."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask


def register_health_check(app: Flask, name: str, check: Callable[[], dict]) -> None:
    """Register a check for ``/healthz``: it returns a dict with at least ``{"ok": bool}``."""
    checks: dict[str, Callable[[], dict]] = app.extensions.setdefault("health_checks", {})
    checks[name] = check


def registered_health_checks(app: Flask) -> dict[str, Callable[[], dict]]:
    return dict(app.extensions.get("health_checks", {}))
