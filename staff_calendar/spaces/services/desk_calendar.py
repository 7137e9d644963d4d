"""Desk bookings in calendars: one TRANSPARENT event per booking group (both halves of a day share
it) in the booker's calendar ``staff:<username>`` (it never blocks citizen appointments), shrunk
or removed on cancelling; the same events for the personal feed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import localized
from staff_calendar import services as calendar
from staff_calendar.spaces.models import HALVES, Desk, DeskBooking
from staff_calendar.spaces.services.common import SpacesContext, load_settings, local_moment, user_calendar_key


def desk_title(desk: Desk) -> str:
    return desk.label or desk.key


def _event_fields(settings: SpacesContext, desk: Desk, rows: list[DeskBooking]) -> dict:
    halves = sorted((row.half for row in rows), key=HALVES.index)
    day = rows[0].day
    start = local_moment(day, settings.half_range(halves[0])[0])
    end = local_moment(day, settings.half_range(halves[-1])[1])
    return {
        "summary": f"Arbeitsplatz {desk_title(desk)}",
        "start": start,
        "end": end,
        "location": f"{localized(desk.floor.name, desk.floor.key)}, {desk_title(desk)}",
        "transparent": True,
    }


def desk_event_uid(group_uid: str) -> str:
    return calendar.event_uid("desk", group_uid)


def queue_event(settings: SpacesContext, username: str, desk: Desk, rows: list[DeskBooking]) -> None:
    key = user_calendar_key(username)
    if key is None:
        return
    calendar.schedule_event(calendar_key=key, uid=desk_event_uid(rows[0].group_uid),
                            **_event_fields(settings, desk, rows))


def requeue_event(settings: SpacesContext, username: str, desk: Desk, group_uid: str,
                  remaining: list[DeskBooking]) -> None:
    key = user_calendar_key(username)
    if key is None:
        return
    if remaining:
        calendar.schedule_event(calendar_key=key, uid=desk_event_uid(group_uid),
                                **_event_fields(settings, desk, remaining))
    else:
        calendar.schedule_event_removal(calendar_key=key, uid=desk_event_uid(group_uid))


def feed_events(user_id: int, since: date) -> list[dict]:
    """The person's desk bookings from ``since`` as feed events (one per group)."""
    settings = load_settings()
    groups: dict[str, list[DeskBooking]] = defaultdict(list)
    for row in db.session.execute(
        select(DeskBooking).options(joinedload(DeskBooking.desk).joinedload(Desk.floor))
        .where(DeskBooking.user_id == user_id, DeskBooking.day >= since)
    ).scalars():
        groups[row.group_uid].append(row)
    events = []
    for group_uid, rows in groups.items():
        fields = _event_fields(settings, rows[0].desk, rows)
        stamp = max(row.created_at for row in rows)
        events.append({"uid": desk_event_uid(group_uid), "description": None, "sequence": 0, "stamp": stamp,
                       **fields})
    return events
