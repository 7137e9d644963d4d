"""Graph endpoints of appointment booking: staff members as Graph users (their calendars are served by
``staff_calendar/graph_api.py``) and the Microsoft Bookings subset (``/solutions/bookingBusinesses``)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from citizen_portal.booking.models import StaffMember
from citizen_portal.core import graph
from citizen_portal.core.extensions import db

bp = graph.graph_blueprint("graph_booking", __name__)


def staff_mailboxes() -> list[graph.Mailbox]:
    """Active staff members: id ``staff-<key>``, their e-mail address (or ``<key>@<PORTAL_EVENT_UID_DOMAIN>``),
    their calendar and working hours (their own, else the opening hours of their first location)."""
    domain = current_app.config["EVENT_UID_DOMAIN"]
    boxes = []
    for staff in db.session.scalars(select(StaffMember).where(StaffMember.active.is_(True))):
        hours = staff.working_hours or next((loc.opening_hours for loc in staff.locations if loc.opening_hours), {})
        boxes.append(graph.Mailbox(id=f"staff-{staff.key}", kind="staff", key=staff.key, display_name=staff.name,
                                   mail=staff.email or f"{staff.key}@{domain}", calendar_key=staff.calendar_key,
                                   working_hours=dict(hours or {})))
    return boxes


bp.record_once(lambda state: graph.register_mailboxes(state.app, staff_mailboxes))
