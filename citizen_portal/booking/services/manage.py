"""What happens to an appointment after booking: the citizen's view, cancel and move (by code
and manage token), the staff's attendance marks, and the job that expires holds.

Rules:
- The citizen may change (cancel or move) an appointment while it is pending or confirmed and has
  not started (``changeable``); pages offer the actions only then, and the services check it again
  inside their lock.
- ``move`` takes the claim path of ``book`` (``claim.claim_time``), with the appointment's own staff
  member asked first; cancelling frees the time at once (offered again after
  ``cancelled_slot_delay_minutes``, see the slot engine) and first offered to the waiting list
  (``fairness.offers.time_freed``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from citizen_portal.booking import metrics
from citizen_portal.booking.models import (
    ARRIVED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    NO_SHOW,
    PENDING,
    Appointment,
    Location,
    SlotClaim,
    StaffMember,
)
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.calendar_events import remove_calendar_event, schedule_calendar_event
from citizen_portal.booking.services.claim import WantedTime, claim_time, release
from citizen_portal.booking.services.codes import find_appointment, manage_token_for, normalize_code
from citizen_portal.booking.services.webhook_events import emit_appointment_event
from citizen_portal.core import locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar import services as calendar_services


def get_by_token(code: str, manage_token: str | None) -> Appointment:
    """The appointment with this code if ``manage_token`` fits; ``NotFound`` otherwise (a wrong
    token and an unknown code look the same). Erased appointments are not found."""
    return find_appointment(code, manage_token, "manage_token_hash")


def changeable(appointment: Appointment, *, now: datetime | None = None) -> bool:
    """Whether the citizen may still cancel or move ``appointment``: pending or confirmed, not started."""
    now = now or datetime.now(UTC)
    return appointment.status in (PENDING, CONFIRMED) and appointment.start_at > now


def _old_day_lock(appointment: Appointment) -> locks.Lock:
    return locks.staff_day(appointment.staff_id, appointment.start_at.astimezone(site_timezone()).date())


def cancel(code: str, manage_token: str, *, now: datetime | None = None) -> Appointment:
    """Cancel by the citizen (manage token); cancelling twice answers the cancelled appointment.
    Only while ``changeable`` (else ``Conflict("not_cancellable")``); SEQUENCE+1, the staff event
    is removed through the outbox; after the commit a mail with METHOD:CANCEL."""
    now = now or datetime.now(UTC)
    appointment = get_by_token(code, manage_token)
    if appointment.status == CANCELLED:
        return appointment
    refusal = Conflict(_l("Dieser Termin kann nicht mehr abgesagt werden."), code="not_cancellable")
    if not changeable(appointment, now=now):
        raise refusal
    appointment_id = appointment.id
    with write_transaction(_old_day_lock(appointment)):
        appointment = db.session.get(Appointment, appointment_id)
        if appointment.status == CANCELLED:  # cancelled meanwhile: the same answer as cancelling twice
            return appointment
        if not changeable(appointment, now=now):
            raise refusal
        was_confirmed = appointment.status == CONFIRMED
        release(appointment, CANCELLED)
        appointment.cancelled_at = now
        appointment.sequence += 1
        if was_confirmed:
            remove_calendar_event(appointment, appointment.staff)
            emit_appointment_event("appointment.cancelled", appointment)
    metrics.CANCELLATIONS.inc()
    from citizen_portal.booking.fairness.offers import time_freed  # fairness builds on these services

    time_freed(appointment.id, now=now)  # the waiting list is offered the time first
    if was_confirmed:
        notifications.send_cancellation(appointment)
        calendar_services.request_drain()
    return appointment


def move(code: str, manage_token: str, new_start: datetime, *, now: datetime | None = None) -> Appointment:
    """Move a confirmed (or pending) appointment to another free time of the same service and
    location, while ``changeable`` (else ``Conflict("not_movable")``). The same staff member is
    preferred when free, else the fair choice. Same UID, SEQUENCE+1; the staff event is updated
    (or removed from the old and written to the new staff member's calendar) through the outbox;
    after the commit the updated confirmation mail. Raises ``Invalid`` (not a bookable time),
    ``Conflict("slot_taken", alternatives)``."""
    now = now or datetime.now(UTC)
    appointment = get_by_token(code, manage_token)
    refusal = Conflict(_l("Dieser Termin kann nicht mehr verschoben werden."), code="not_movable")
    if not changeable(appointment, now=now):
        raise refusal
    if new_start.tzinfo is None:
        raise ValueError("new_start must be timezone-aware")  # parsed by schemas.ChosenTime
    new_start = new_start.astimezone(UTC)
    if new_start == appointment.start_at:
        return appointment
    wanted = WantedTime(appointment.service, appointment.location, new_start)
    appointment_id = appointment.id

    def write(staff: StaffMember) -> Appointment:
        moved = db.session.get(Appointment, appointment_id)
        if not changeable(moved, now=now):
            raise refusal
        old_staff = moved.staff
        db.session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment_id))
        db.session.flush()
        moved.staff_id = staff.id
        moved.start_at, moved.end_at, moved.blocked_until = new_start, wanted.end, wanted.blocked_until
        moved.sequence += 1
        moved.moved_at = now
        moved.reminder_sent_at = None
        db.session.add(SlotClaim(appointment_id=appointment_id, staff_id=staff.id,
                                 start_at=new_start, blocked_until=wanted.blocked_until))
        db.session.flush()
        db.session.expire(moved, ["staff"])
        if moved.status == CONFIRMED:
            if old_staff.id != staff.id:
                remove_calendar_event(moved, old_staff)
            schedule_calendar_event(moved)
            emit_appointment_event("appointment.moved", moved)
        return moved

    moved = claim_time(wanted, write, now=now, more_locks=[_old_day_lock(appointment)], moving=appointment)
    if moved.status == CONFIRMED:
        notifications.send_confirmation(moved, manage_token, moved=True)
        calendar_services.request_drain()
    return moved


def set_attendance(appointment_id: int, status: str, *, now: datetime | None = None) -> Appointment:
    """Staff marks a confirmed appointment as ``arrived`` or ``no_show`` (or back to ``confirmed``).
    The caller checks the staff role. ``Invalid`` for another status, ``Conflict`` when the
    appointment is not confirmed/arrived/no-show."""
    now = now or datetime.now(UTC)
    if status not in (ARRIVED, NO_SHOW, CONFIRMED):
        raise Invalid(fields={"status": _l("Unbekannter Status.")})
    with write_transaction():
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None:
            raise NotFound()
        if appointment.status not in (CONFIRMED, ARRIVED, NO_SHOW):
            raise Conflict(_l("Dieser Termin ist nicht bestätigt."), code="not_confirmed")
        newly_missed = status == NO_SHOW and appointment.status != NO_SHOW
        appointment.status = status
        appointment.checked_in_at = now if status != CONFIRMED else None
        if status in (ARRIVED, NO_SHOW):
            db.session.flush()
            emit_appointment_event(f"appointment.{status}", appointment)
    if newly_missed:
        metrics.NO_SHOWS.inc()
    return appointment


def expire_holds(*, now: datetime | None = None) -> int:
    """Job: pending holds whose time ran out become ``expired`` and free their slot. Returns the count."""
    now = now or datetime.now(UTC)
    with write_transaction():
        stale = db.session.scalars(
            select(Appointment).where(Appointment.status == PENDING, Appointment.hold_expires_at <= now)
        ).all()
        for appointment in stale:
            release(appointment, EXPIRED)
    return len(stale)


def location_appointments(location_key: str, start: datetime, end: datetime) -> list[Appointment]:
    """Active and cancelled appointments at the location starting in ``[start, end)`` (not the expired
    holds), by start: what the office's calendar shows (the Graph Bookings calendarView)."""
    return list(db.session.scalars(
        select(Appointment).join(Location, Location.id == Appointment.location_id)
        .where(Location.key == location_key, Appointment.start_at >= start, Appointment.start_at < end,
               Appointment.status != EXPIRED)
        .order_by(Appointment.start_at, Appointment.id)))


def staff_manage_token(code: str) -> tuple[Appointment, str]:
    """For staff acting for a citizen (Graph Bookings): the appointment with this code and its manage
    token, so cancel and move apply the citizen's rules (``changeable``); ``NotFound`` once erased."""
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    token = manage_token_for(appointment) if appointment is not None else None
    if appointment is None or token is None:
        raise NotFound(_l("Diesen Termin gibt es nicht (mehr)."))
    return appointment, token
