"""Graph ids and request bodies: ids without ``/`` (``encode_id``/``decode_id``), the JSON object of a
request, case-insensitive action parameters, integer parameters."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import request

from citizen_portal.core.errors import Invalid, NotFound
from citizen_portal.core.i18n import _l


def encode_id(text: str) -> str:
    """An id without ``/``: URL-safe base64 of ``text`` without padding."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_id(ident: str) -> str:
    """The text behind ``encode_id``; ``NotFound`` for anything that is not one."""
    try:
        return base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound() from None


def json_body() -> dict[str, Any]:
    """The request's JSON object (``@odata.type`` annotations tolerated); ``Invalid`` otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_l("Bitte senden Sie ein JSON-Objekt."))
    return body


def lower_keys(body: dict[str, Any]) -> dict[str, Any]:
    """Action parameters case-insensitively (the Python SDK sends PascalCase ``Schedules``, the docs camelCase)."""
    return {str(key).lower(): value for key, value in body.items()}


def as_int(value: Any, field_name: str, *, default: int, low: int, high: int) -> int:
    """An integer parameter that may arrive as a string; ``Invalid`` outside ``[low, high]``."""
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(fields={field_name: _l("Bitte eine ganze Zahl angeben.")}) from None
    if not low <= number <= high:
        raise Invalid(fields={field_name: _l("Erlaubt sind %(low)s bis %(high)s.", low=low, high=high)})
    return number
