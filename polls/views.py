"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("polls", __name__, url_prefix="/beteiligung")
