"""Blocks (admin): a desk or a room unbookable for the days ``first_day..last_day`` with a reason.

Rules: admins only; exactly one active desk or room; the period does not end before it begins.
Existing bookings in the period are kept; the admin sees how many there are. Writes hold
``locks.spaces_admin``. (The form's shapes: ``schemas.BlockInput``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Forbidden, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.schemas import MAX_YEAR
from staff_calendar.spaces.models import Desk, DeskBooking, RoomBooking, SpaceBlock
from staff_calendar.spaces.services.common import Actor, local_moment, today_local
from staff_calendar.spaces.services.desks import active_desk
from staff_calendar.spaces.services.rooms import active_room


@dataclass
class BlockView:
    block: SpaceBlock
    affected_bookings: int


def create_block(actor: Actor, *, desk_key: str | None, room_key: str | None, first_day: date,
                 last_day: date, reason: str) -> SpaceBlock:
    if not actor.is_admin:
        raise Forbidden()
    fields = {}
    if bool(desk_key) == bool(room_key):
        fields["target"] = _l("Bitte wählen Sie genau einen Arbeitsplatz oder einen Raum.")
    if last_day < first_day:
        fields["last_day"] = _l("Das Ende muss nach dem Beginn liegen.")
    if fields:
        raise Invalid(fields=fields)
    desk = active_desk(desk_key) if desk_key else None
    room = active_room(room_key) if room_key else None
    with write_transaction(locks.spaces_admin()):
        block = SpaceBlock(desk_id=desk.id if desk else None, room_id=room.id if room else None,
                           first_day=first_day, last_day=last_day, reason=reason, created_by=actor.id)
        db.session.add(block)
    return block


def delete_block(actor: Actor, block_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden()
    with write_transaction(locks.spaces_admin()):
        block = db.session.get(SpaceBlock, block_id)
        if block is None:
            raise NotFound()
        db.session.delete(block)


def current_blocks() -> list[BlockView]:
    blocks = db.session.execute(
        select(SpaceBlock).options(joinedload(SpaceBlock.desk), joinedload(SpaceBlock.room))
        .where(SpaceBlock.last_day >= today_local()).order_by(SpaceBlock.first_day)
    ).scalars().all()
    views = []
    for block in blocks:
        if block.desk_id:
            count = db.session.execute(select(func.count()).select_from(DeskBooking).where(
                DeskBooking.desk_id == block.desk_id,
                DeskBooking.day.between(block.first_day, block.last_day))).scalar_one()
        else:
            start = local_moment(block.first_day, time(0, 0))
            # a row older than the schema's year limit (9999-12-31) must not overflow the day after it
            end = local_moment(min(block.last_day, date(MAX_YEAR, 12, 31)) + timedelta(days=1), time(0, 0))
            count = db.session.execute(select(func.count()).select_from(RoomBooking).where(
                RoomBooking.room_id == block.room_id, RoomBooking.start_at < end,
                RoomBooking.end_at > start)).scalar_one()
        views.append(BlockView(block, count))
    return views


def all_desks() -> list[Desk]:
    return list(db.session.execute(
        select(Desk).options(joinedload(Desk.floor)).order_by(Desk.key)).scalars())
