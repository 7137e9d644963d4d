"""Stub: filled in by the issue that owns this area."""

from flask import Blueprint

bp = Blueprint("booking", __name__)
