"""Who's in: colleagues of my team who chose to be visible (``users.show_presence``), per day.

Only people of the actor's own team (``users.team``) who opted in are listed, and only their name
and which half days they booked a desk: no desk, no floor, no history. People without a team
see nobody. Everyone can switch their own visibility."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from staff_calendar.spaces.models import DeskBooking
from staff_calendar.spaces.services.common import Actor


@dataclass
class Presence:
    name: str
    halves: list[str]
    is_me: bool


def my_team_and_visibility(actor: Actor) -> tuple[str | None, bool]:
    row = db.session.execute(
        select(User.team, User.show_presence).where(User.id == actor.id)).one()
    return row.team, bool(row.show_presence)


def set_visibility(actor: Actor, visible: bool) -> None:
    with write_transaction(locks.presence(actor.id)):
        db.session.execute(update(User).where(User.id == actor.id).values(show_presence=visible))


def whos_in(actor: Actor, first: date, last: date) -> dict[date, list[Presence]]:
    team, _visible = my_team_and_visibility(actor)
    result: dict[date, list[Presence]] = defaultdict(list)
    if not team:
        return result
    rows = db.session.execute(
        select(DeskBooking.day, DeskBooking.half, User.id, User.display_name)
        .join(User, User.id == DeskBooking.user_id)
        .where(User.team == team, User.show_presence.is_(True),
               User.active.is_(True), DeskBooking.day.between(first, last))
        .order_by(DeskBooking.day, User.display_name)
    ).all()
    per_day: dict[date, dict[int, Presence]] = defaultdict(dict)
    for row in rows:
        entry = per_day[row.day].setdefault(row.id, Presence(row.display_name, [], row.id == actor.id))
        entry.halves.append(row.half)
    for day, people in per_day.items():
        result[day] = sorted(people.values(), key=lambda p: p.name.lower())
    return result
