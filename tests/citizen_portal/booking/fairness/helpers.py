"""Shared helpers of the fair-access tests: a fixed "now" far from midnight/DST, a set-up with a
waiting list, joining and confirming through the services, tokens read from the real mails."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from citizen_portal.booking import services
from citizen_portal.booking.fairness import waiting_list
from citizen_portal.booking.fairness.schemas import JoinRequest
from citizen_portal.core.schemas import parse
from tests.citizen_portal.booking.factories import contact, make_setup
from tests.fixtures.mail import body_text

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 07:00 local
TUESDAY = date(2026, 3, 3)


def local(hh: int, mm: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BERLIN)


def setup(staff_count: int = 1, **service_kw):
    return make_setup(staff_count, service_kw={"waiting_list": "always", **service_kw}, holidays=None)


def join(service, email: str, *, now=NOW, **preferences):
    data = parse(JoinRequest, {"name": "Erika", "email": email, "privacy_consent": True, **preferences})
    return waiting_list.join(service.key, data, now=now)


def join_confirmed(service, email: str, **preferences):
    """Join and confirm; returns (entry, manage token)."""
    joined = join(service, email, **preferences)
    return waiting_list.confirm_join(joined.entry.id, joined.confirm_token, now=NOW)


def book(service, location, start, email="erika@example.org"):
    return services.book(services.BookingRequest(service.key, location.key, start, contact(email=email)), now=NOW)


def link_token(message, path: str) -> tuple[int, str]:
    """(id, token) of the link ``/termine/warteliste/<path>/<id>?token=…`` in a mail."""
    match = re.search(rf"/termine/warteliste/{path}/(\d+)\?token=([\w-]+)", body_text(message))
    assert match, body_text(message)
    return int(match.group(1)), match.group(2)
