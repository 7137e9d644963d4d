"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

staff_calendar_cli = AppGroup("staff-calendar", help="CalDAV mirror and outbox.")
