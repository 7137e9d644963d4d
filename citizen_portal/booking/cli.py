"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

booking_cli = AppGroup("booking", help="Appointments: reminders, purges.")
