"""The time public room requests hold (``held`` = tentative, ``confirmed``): busy time of a room for
staff bookings (``rooms.busy_ranges``) and for other requests alike, so neither side can take what the
other holds. Both writers lock ``locks.room`` before they re-check, so exactly one of two wins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from citizen_portal.core.extensions import db
from staff_calendar.spaces.models import HOLDING_USES, RoomRequest, RoomUse


def holding_uses(room_id: int, start: datetime, end: datetime) -> list[tuple[RoomUse, RoomRequest]]:
    """Held and confirmed uses of ``room_id`` overlapping ``[start, end)`` with their requests, by start."""
    return list(db.session.execute(
        select(RoomUse, RoomRequest).join(RoomRequest, RoomUse.request_id == RoomRequest.id)
        .where(RoomUse.room_id == room_id, RoomUse.status.in_(HOLDING_USES), RoomUse.start_at < end,
               RoomUse.end_at > start).order_by(RoomUse.start_at)
    ).tuples())


def public_label(request: RoomRequest) -> str | None:
    """What others may see of a use: the organisation only when it chose to be shown, else nothing."""
    return request.organisation if request.show_organisation and request.organisation else None
