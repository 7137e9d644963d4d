"""Occupancy statistics for admins, in aggregate only: per day and floor, the number of desks and
of booked half days; never who. Counts below ``occupancy_min_count`` (default 3) are suppressed
(shown as "fewer than k"), so no single person's presence can be read off a quiet floor."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import localized
from staff_calendar.spaces.models import Desk, DeskBooking, Floor
from staff_calendar.spaces.services.common import load_settings


@dataclass
class OccupancyRow:
    day: date
    floor_key: str
    floor_name: str
    desks: int
    morning: int | None  # None: suppressed (fewer than k)
    afternoon: int | None

    @property
    def percent(self) -> int | None:
        if self.morning is None or self.afternoon is None or not self.desks:
            return None
        return round(100 * (self.morning + self.afternoon) / (2 * self.desks))


def occupancy(first: date, last: date) -> tuple[list[OccupancyRow], int]:
    """Rows per working day and active floor from ``first`` to ``last``; returns (rows, k)."""
    k = int(load_settings()["occupancy_min_count"])
    floors = list(db.session.execute(select(Floor).where(Floor.active.is_(True)).order_by(Floor.key)).scalars())
    desks = dict(db.session.execute(
        select(Desk.floor_id, func.count()).where(Desk.active.is_(True)).group_by(Desk.floor_id)).all())
    counts: dict[tuple[date, int, str], int] = defaultdict(int)
    for day, floor_id, half, count in db.session.execute(
        select(DeskBooking.day, Desk.floor_id, DeskBooking.half, func.count())
        .join(Desk, Desk.id == DeskBooking.desk_id)
        .where(DeskBooking.day.between(first, last))
        .group_by(DeskBooking.day, Desk.floor_id, DeskBooking.half)
    ):
        counts[(day, floor_id, half)] = count

    def shown(value: int) -> int | None:
        return None if 0 < value < k else value

    rows = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            for floor in floors:
                rows.append(OccupancyRow(day, floor.key, localized(floor.name, floor.key), desks.get(floor.id, 0),
                                         shown(counts[(day, floor.id, "morning")]),
                                         shown(counts[(day, floor.id, "afternoon")])))
        day += timedelta(days=1)
    return rows, k


def occupancy_csv(first: date, last: date) -> str:
    rows, k = occupancy(first, last)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "floor", "desks", "morning", "afternoon", "percent"])
    for row in rows:
        writer.writerow([row.day.isoformat(), row.floor_key, row.desks,
                         row.morning if row.morning is not None else f"<{k}",
                         row.afternoon if row.afternoon is not None else f"<{k}",
                         row.percent if row.percent is not None else ""])
    return out.getvalue()
