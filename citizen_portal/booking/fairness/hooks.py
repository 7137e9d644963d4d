"""What the booking core asks fair access (the only imports of ``fairness`` from booking services):

- ``withheld(service, first_day, last_day, today, fair_pass)``: the times the slot engine must not
  offer first-come-first-served — times reserved for waiting-list offers (``Reservation``), and every
  day of a service with release windows that has not been drawn yet (from ``today +
  release_days_ahead`` on). ``fair_pass`` lets the one booking an offer or the lottery makes through.
- ``FairPass``: carried by ``BookingRequest`` from an accepted offer or the lottery's draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from citizen_portal.booking.fairness.models import DRAWN, ReleaseWindow, Reservation
from citizen_portal.booking.models import Service
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone


@dataclass(frozen=True)
class FairPass:
    """A booking made by fair access itself: ``reservation_id`` (an accepted offer; its freed
    appointment's cancellation delay is ignored too) or ``window_id`` (the lottery's draw)."""

    reservation_id: int | None = None
    window_id: int | None = None


@dataclass
class Withheld:
    """``times``: (location id, UTC start) reserved; ``days``: local days not yet released;
    ``freed_start``: the reserved start a ``FairPass`` books; the cancelled appointments there (the
    reservation's seats) do not block it during their cancellation delay."""

    times: set[tuple[int, datetime]]
    days: set[date]
    freed_start: datetime | None = None

    def hides(self, location_id: int, start: datetime) -> bool:
        return (location_id, start) in self.times or start.astimezone(site_timezone()).date() in self.days


def withheld(service: Service, first_day: date, last_day: date, today: date,
             fair_pass: FairPass | None = None) -> Withheld:
    """The times of ``service`` in the local days ``first_day``..``last_day`` hidden from the
    public (see the module docstring); two small queries."""
    fair_pass = fair_pass or FairPass()
    zone = site_timezone()
    range_start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    result = Withheld(set(), set())
    for reservation in db.session.scalars(select(Reservation).where(
            Reservation.service_id == service.id, Reservation.start_at >= range_start,
            Reservation.start_at < range_end)):
        if reservation.id == fair_pass.reservation_id:
            result.freed_start = reservation.start_at
            continue
        result.times.add((reservation.location_id, reservation.start_at))
    if service.release_days_ahead:
        first_unreleased = max(first_day, today + timedelta(days=service.release_days_ahead))
        drawn = set(db.session.scalars(select(ReleaseWindow.day).where(
            ReleaseWindow.service_id == service.id, ReleaseWindow.status == DRAWN,
            ReleaseWindow.day >= first_unreleased, ReleaseWindow.day <= last_day)))
        passing = db.session.get(ReleaseWindow, fair_pass.window_id) if fair_pass.window_id else None
        day = first_unreleased
        while day <= last_day:
            if day not in drawn and not (passing is not None and passing.day == day
                                         and passing.service_id == service.id):
                result.days.add(day)
            day += timedelta(days=1)
    return result
