"""Stub: filled in by the issue that owns this area."""

from flask.cli import AppGroup

site_cli = AppGroup("site", help="Check and load the site file.")
