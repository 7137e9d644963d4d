"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

polls_cli = AppGroup("polls", help="Polls and suggestions.")
