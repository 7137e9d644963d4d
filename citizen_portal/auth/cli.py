"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

users_cli = AppGroup("users", help="Staff accounts.")
