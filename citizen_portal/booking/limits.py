"""Rate limits of the public booking endpoints (HTML views and JSON API share them).

Configurable: ``PORTAL_BOOKING_SLOTS_RATE_LIMIT`` (slot search, default "120 per minute"),
``PORTAL_BOOKING_RATE_LIMIT`` (booking, confirming, moving, cancelling: "10 per minute;50 per hour"),
``PORTAL_BOOKING_LOOKUP_RATE_LIMIT`` (the link sent again: "3 per minute;10 per hour").
Per client address (``flask_limiter.util.get_remote_address``; behind the city's reverse proxy
configure ProxyFix so this is the citizen's address). Storage: ``RATELIMIT_STORAGE_URI``."""

from __future__ import annotations

from flask import current_app

from citizen_portal.core.extensions import limiter


def _slots_limit() -> str:
    return current_app.config["BOOKING_SLOTS_RATE_LIMIT"]


def _booking_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


def _lookup_limit() -> str:
    return current_app.config["BOOKING_LOOKUP_RATE_LIMIT"]


slot_search_limit = limiter.limit(_slots_limit, scope="booking-slots")
booking_limit = limiter.limit(_booking_limit, scope="booking-write")
# lost-mail help: the manage link by booking number + address, a new confirmation link (per client)
lookup_limit = limiter.limit(_lookup_limit, scope="booking-lookup")
