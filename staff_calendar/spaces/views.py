"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("spaces", __name__, url_prefix="/arbeitsplaetze")
