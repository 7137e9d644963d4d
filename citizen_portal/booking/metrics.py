"""Booking's counters for ``/metrics`` (``citizen_portal.core.metrics``), counted after the commit
of the service that did it (a rolled-back write counts nothing). No labels with personal data."""

from __future__ import annotations

from citizen_portal.core.metrics import counter

BOOKINGS = counter("portal_bookings_total", "Appointments booked (held: waiting for the e-mail confirmation)",
                   ["state"])
CANCELLATIONS = counter("portal_cancellations_total", "Appointments cancelled by the citizen")
NO_SHOWS = counter("portal_no_shows_total", "Appointments marked as not attended")
