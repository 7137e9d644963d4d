"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("booking_staff", __name__, url_prefix="/mitarbeitende")
