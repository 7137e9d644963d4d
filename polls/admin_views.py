"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("polls_admin", __name__, url_prefix="/verwaltung/beteiligung")
