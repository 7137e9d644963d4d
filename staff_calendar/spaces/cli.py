"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

spaces_cli = AppGroup("spaces", help="Desks and rooms.")
