"""What happens to an appointment after booking: the citizen's view, cancel and move (by code
and manage token), the staff's attendance marks, and the job that expires holds.

``move`` follows the write path of ``appointments.book`` (slot engine → fair order with the
current staff member first → live check → locked re-check → write → side effects after commit).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.booking.models import (
    ARRIVED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    NO_SHOW,
    PENDING,
    Appointment,
    SlotClaim,
    StaffMember,
)
from citizen_portal.booking.services.appointments import (
    StaffTaken,
    after_commit,
    expire_stale_holds,
    fair_order,
    lock_names,
    overlapping,
    release,
    slot_at,
    slot_taken,
)
from citizen_portal.booking.services.calendar_events import remove_calendar_event, schedule_calendar_event
from citizen_portal.booking.services.codes import normalize_code, sha256_hex
from citizen_portal.booking.services.slot_engine import plan
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar import services as calendar_services


def get_by_token(code: str, manage_token: str | None) -> Appointment:
    """The appointment with this code if ``manage_token`` fits; ``NotFound`` otherwise (a wrong
    token and an unknown code look the same). Erased appointments are not found."""
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if appointment is None or not manage_token or appointment.manage_token_hash is None:
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    if not hmac.compare_digest(appointment.manage_token_hash, sha256_hex(manage_token)):
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    return appointment


def cancel(code: str, manage_token: str, *, now: datetime | None = None) -> Appointment:
    """Cancel by the citizen (manage token). Only pending or confirmed appointments that have not
    started; the slot is offered again after ``cancelled_slot_delay_minutes``. SEQUENCE+1, the
    staff event is removed through the outbox; after commit a mail with METHOD:CANCEL."""
    now = now or datetime.now(UTC)
    appointment = get_by_token(code, manage_token)
    if appointment.status == CANCELLED:
        return appointment
    if appointment.status not in (PENDING, CONFIRMED) or appointment.start_at <= now:
        raise Conflict(_l("Dieser Termin kann nicht mehr abgesagt werden."), code="not_cancellable")
    was_confirmed = appointment.status == CONFIRMED
    appointment_id = appointment.id
    with write_transaction(*lock_names(appointment.staff_id, appointment.start_at)):
        appointment = db.session.get(Appointment, appointment_id)
        release(appointment, CANCELLED)
        appointment.cancelled_at = now
        appointment.sequence += 1
        if was_confirmed:
            remove_calendar_event(appointment, appointment.staff)
    after_commit("cancelled" if was_confirmed else "none", appointment, None)
    return appointment


def move(code: str, manage_token: str, new_start: datetime, *, now: datetime | None = None) -> Appointment:
    """Move a confirmed (or pending) appointment to another free time of the same service and
    location. The same staff member is preferred when free, else the fair choice. Same UID,
    SEQUENCE+1; the staff event is updated (or removed from the old and written to the new staff
    member's calendar) through the outbox; after commit the updated confirmation mail.
    Raises ``Invalid`` (not a bookable time), ``Conflict("slot_taken", alternatives)``,
    ``Conflict("not_movable")``."""
    now = now or datetime.now(UTC)
    appointment = get_by_token(code, manage_token)
    if appointment.status not in (PENDING, CONFIRMED) or appointment.start_at <= now:
        raise Conflict(_l("Dieser Termin kann nicht mehr verschoben werden."), code="not_movable")
    if new_start is None or new_start.tzinfo is None:
        raise Invalid(fields={"start": _l("Bitte wählen Sie eine Uhrzeit.")})
    new_start = new_start.astimezone(UTC)
    if new_start == appointment.start_at:
        return appointment
    service, location = appointment.service, appointment.location
    slot = slot_at(service, location, new_start, now, ignore_appointment_id=appointment.id)
    day = new_start.astimezone(site_timezone()).date()
    load = plan(service, day, day, now=now, location_key=location.key, ignore_appointment_id=appointment.id).load
    order = fair_order(slot, load, day)
    if appointment.staff_id in order:
        order.remove(appointment.staff_id)
        order.insert(0, appointment.staff_id)
    new_end = new_start + timedelta(minutes=service.duration_minutes)
    new_blocked = new_end + timedelta(minutes=service.buffer_minutes)
    old_staff_id, old_start, appointment_id = appointment.staff_id, appointment.start_at, appointment.id
    staff_by_id = {member.id: member for member in db.session.scalars(
        select(StaffMember).where(StaffMember.id.in_(order)))}
    for staff_id in order:
        staff = staff_by_id[staff_id]
        if staff.calendar_key and not calendar_services.is_free(staff.calendar_key, new_start, new_blocked).free:
            continue
        locks = {*lock_names(staff_id, new_start), *lock_names(old_staff_id, old_start)}
        try:
            with write_transaction(*locks):
                appointment = db.session.get(Appointment, appointment_id)
                expire_stale_holds(staff_id, new_start, new_blocked, now)
                if overlapping(staff_id, new_start, new_blocked, now, ignore_id=appointment_id):
                    raise StaffTaken()
                old_staff = appointment.staff
                db.session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment_id))
                db.session.flush()
                appointment.staff_id = staff_id
                appointment.start_at, appointment.end_at = new_start, new_end
                appointment.blocked_until = new_blocked
                appointment.sequence += 1
                appointment.moved_at = now
                appointment.reminder_sent_at = None
                db.session.add(SlotClaim(appointment_id=appointment_id, staff_id=staff_id,
                                         start_at=new_start, blocked_until=new_blocked))
                db.session.flush()
                db.session.expire(appointment, ["staff"])
                if appointment.status == CONFIRMED:
                    if old_staff.id != staff_id:
                        remove_calendar_event(appointment, old_staff)
                    schedule_calendar_event(appointment)
        except (StaffTaken, IntegrityError):
            continue
        if appointment.status == CONFIRMED:
            after_commit("moved", appointment, manage_token)
        else:
            calendar_services.request_drain()
        return appointment
    raise slot_taken(service, location.key, new_start, now)


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
        appointment.status = status
        appointment.checked_in_at = now if status != CONFIRMED else None
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
