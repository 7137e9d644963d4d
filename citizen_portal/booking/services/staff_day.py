"""Rules for the staff "Heute / Today" page: a staff member's appointments of one local day and
marking them as arrived or no-show.

Rules:
- A logged-in user's staff member is the ``StaffMember`` whose ``key`` equals the username
  (platform convention); a user without one has no appointments.
- The day is a local day in the site's time zone; listed are the appointments that start on it
  and occupy staff time or did (confirmed, arrived, no-show, and pending holds that still live),
  ordered by start time. Cancelled and expired ones are left out.
- Only the assigned staff member may mark an appointment (``admin`` may mark any: the caller says
  so with ``any_staff=True``); anyone else's appointment is ``NotFound``, like one that does not
  exist, so ids reveal nothing.
- Marking is allowed from the appointment's local day on, never for a later day; "no-show" only
  once the appointment has started; only confirmed (or already marked) appointments. "Reset" puts
  it back to confirmed. The page offers the actions ``allowed_actions`` returns (the checks of
  ``mark``, minus actions that change nothing). The status change itself is
  ``services.manage.set_attendance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from citizen_portal.booking.models import ARRIVED, CONFIRMED, NO_SHOW, PENDING, Appointment, StaffMember
from citizen_portal.booking.services.manage import set_attendance
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone

LISTED_STATUSES = (PENDING, CONFIRMED, ARRIVED, NO_SHOW)
ACTIONS = {"arrived": ARRIVED, "no_show": NO_SHOW, "reset": CONFIRMED}


@dataclass
class StaffDay:
    """What the page shows: the staff member (``None`` if the user has none), the day, the list."""

    staff: StaffMember | None
    day: date
    appointments: list[Appointment]


def staff_for_username(username: str) -> StaffMember | None:
    return db.session.scalars(select(StaffMember).where(StaffMember.key == username)).first()


def local_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(site_timezone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC range of a local day (23 or 25 hours on DST days)."""
    zone = site_timezone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def appointments_of_day(username: str, day: date, *, now: datetime | None = None) -> StaffDay:
    """The user's staff member's appointments starting on the local ``day``, by start time."""
    now = now or datetime.now(UTC)
    staff = staff_for_username(username)
    if staff is None:
        return StaffDay(None, day, [])
    start, end = day_bounds(day)
    rows = db.session.scalars(
        select(Appointment)
        .where(Appointment.staff_id == staff.id, Appointment.start_at >= start, Appointment.start_at < end,
               Appointment.status.in_(LISTED_STATUSES))
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    listed = [a for a in rows if a.status != PENDING or (a.hold_expires_at and a.hold_expires_at > now)]
    return StaffDay(staff, day, listed)


def _refusal(appointment: Appointment, action: str, now: datetime) -> Conflict | None:
    """Why ``action`` cannot be taken on ``appointment`` at ``now`` (the timing rules), or None."""
    if appointment.status not in (CONFIRMED, ARRIVED, NO_SHOW):
        return Conflict(_l("Dieser Termin ist nicht bestätigt."), code="not_confirmed")
    if appointment.start_at.astimezone(site_timezone()).date() > local_today(now):
        return Conflict(_l("Termine späterer Tage können noch nicht markiert werden."), code="too_early")
    if action == "no_show" and appointment.start_at > now:
        return Conflict(_l("„Nicht erschienen“ geht erst, wenn der Termin begonnen hat."), code="too_early")
    return None


def allowed_actions(appointment: Appointment, *, now: datetime | None = None) -> tuple[str, ...]:
    """The actions the page offers for ``appointment`` at ``now``: those ``mark`` accepts (for the
    assigned staff member) that change its status."""
    now = now or datetime.now(UTC)
    return tuple(action for action, status in ACTIONS.items()
                 if status != appointment.status and _refusal(appointment, action, now) is None)


def mark(username: str, appointment_id: int, action: str, *, any_staff: bool = False,
         now: datetime | None = None) -> Appointment:
    """Mark an appointment ``arrived``, ``no_show`` or ``reset`` (back to confirmed); see the rules."""
    now = now or datetime.now(UTC)
    if action not in ACTIONS:
        raise Invalid(fields={"action": _l("Unbekannte Aktion.")})
    appointment = db.session.get(Appointment, appointment_id)
    staff = staff_for_username(username)
    if appointment is None or (not any_staff and (staff is None or appointment.staff_id != staff.id)):
        # someone else's appointment answers like one that does not exist: ids reveal nothing
        raise NotFound()
    refusal = _refusal(appointment, action, now)
    if refusal is not None:
        raise refusal
    return set_attendance(appointment_id, ACTIONS[action], now=now)
