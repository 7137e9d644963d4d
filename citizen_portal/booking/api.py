"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
