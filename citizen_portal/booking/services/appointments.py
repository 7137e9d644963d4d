"""Booking and confirming appointments.

``book``: the contact data arrive already parsed (``schemas.Contact``: the one place they are
validated); load service and location (``offered_location``) → the per-address limit and, for a
hold, the hold limits (``holds.check_hold_limits``) → the claim path (``claim.claim_time``: one day
plan, fair order, live check, locks, re-check, write) with the address's lock
(``locks.booking_email``) and a hold's session and client locks → after the commit the mail
(``notifications``) and, for a confirmed appointment, ``request_drain()`` for its calendar event.

Codes and tokens: ``codes``; the staff calendar event: ``calendar_events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, insert, select

from citizen_portal.booking import metrics
from citizen_portal.booking.fairness.hooks import FairPass
from citizen_portal.booking.models import CONFIRMED, EXPIRED, PENDING, Appointment, SlotClaim, StaffMember
from citizen_portal.booking.schemas import Contact
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.calendar_events import schedule_calendar_event
from citizen_portal.booking.services.claim import (
    WantedTime,
    claim_time,
    overlapping,
    release,
    slot_taken,
    staff_locks,
)
from citizen_portal.booking.services.codes import derive_manage_token, email_hash, find_appointment, unique_code
from citizen_portal.booking.services.holds import Client, check_hold_limits, client_keys, hold_locks
from citizen_portal.booking.services.slot_engine import booking_settings, load_service, offered_location
from citizen_portal.booking.services.webhook_events import emit_appointment_event
from citizen_portal.core import locks
from citizen_portal.core.database import objects_kept, write_transaction
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.security import new_token, token_hash
from staff_calendar import services as calendar_services


@dataclass
class BookingRequest:
    """What a citizen books: ``start`` aware, ``contact`` parsed by ``schemas`` (the booking form's
    or the API body's model, both a ``Contact``)."""

    service_key: str
    location_key: str
    start: datetime
    contact: Contact
    language: str = "de"
    # set when the request passed the captcha only by waiting (no JavaScript): the slot is then
    # held until the citizen confirms by the link in the mail, like for email_confirmation services
    confirm_by_email: bool = False
    # the browser session and client address (hold limits; stored only as keyed hashes)
    client: Client = field(default_factory=Client)
    # set by fair access (an accepted waiting-list offer, the lottery): may book a withheld time
    fair_pass: FairPass | None = None


@dataclass
class BookingResult:
    """``manage_token`` is shown once (API answer, mail link); ``confirm_token`` only for holds."""

    appointment: Appointment
    manage_token: str
    confirm_token: str | None = None


# built once (statements are reused with new parameters: no building and cache keying per booking)
_ACTIVE_COUNT = select(func.count(Appointment.id)).where(
    Appointment.email_hash == bindparam("digest"),
    Appointment.service_id == bindparam("service_id"),
    Appointment.status.in_((PENDING, CONFIRMED)),
    Appointment.end_at > bindparam("now"),
    (Appointment.status != PENDING) | (Appointment.hold_expires_at > bindparam("now")),
)
_INSERT_CLAIM = insert(SlotClaim.__table__)


def _active_count(email_digest: str, service_id: int, now: datetime) -> int:
    """Active appointments of an address for a service: confirmed or living holds, not yet ended."""
    return db.session.scalar(_ACTIVE_COUNT, {"digest": email_digest, "service_id": service_id, "now": now}) or 0


def _limit_reached() -> Conflict:
    problem = _l("Sie haben für diese Leistung bereits einen Termin. Bitte sagen Sie ihn ab, "
                 "bevor Sie einen neuen buchen.")
    return Conflict(problem, code="limit_reached", fields={"email": problem})


def book(request: BookingRequest, *, now: datetime | None = None) -> BookingResult:
    """Book a free time; see the module docstring for the order of steps.

    Rules: the service exists and is offered at the location (``NotFound``); the start lies on the
    slot grid within lead time and horizon (``Invalid``) and is free (``Conflict("slot_taken",
    alternatives)``); at most ``service.max_active_per_email`` active (future, not cancelled)
    appointments per (normalised) address and service (``Conflict("limit_reached")``, checked again
    under the address's lock); a service with ``email_confirmation``, or a request that passed the
    captcha only by waiting, creates a hold of ``hold_minutes`` (``pending_confirmation``) within the
    hold limits per address, session and client (``Conflict("hold_limit")``, ``services/holds.py``,
    checked again under their locks), otherwise the appointment is ``confirmed`` and its calendar
    event queued in the same transaction."""
    now = now or datetime.now(UTC)
    contact = request.contact
    service = load_service(request.service_key)
    location = offered_location(service, request.location_key)
    digest = email_hash(contact.email)
    limit = max(service.max_active_per_email, 1)
    if _active_count(digest, service.id, now) >= limit:
        raise _limit_reached()
    wanted = WantedTime(service, location, request.start)
    hold = service.email_confirmation or request.confirm_by_email
    keys = client_keys(request.client)
    if hold:
        check_hold_limits(digest, keys, now=now)
    nonce = new_token(24)
    confirm_token = new_token(24) if hold else None
    hold_minutes = booking_settings().hold_minutes if hold else 0

    def write(staff: StaffMember) -> Appointment:
        if _active_count(digest, service.id, now) >= limit:
            raise _limit_reached()
        if hold:
            check_hold_limits(digest, keys, now=now)
        appointment = Appointment(
            code=unique_code(), service_id=service.id, location_id=location.id, staff_id=staff.id,
            start_at=wanted.start.astimezone(UTC), end_at=wanted.end, blocked_until=wanted.blocked_until,
            status=PENDING if hold else CONFIRMED, language=request.language or "de",
            name=contact.name, email=contact.email, phone=contact.phone, note=contact.note,
            email_hash=digest, session_hash=keys.session_hash, client_hash=keys.client_hash,
            token_nonce=nonce, created_at=now,
            confirmed_at=None if hold else now,
            hold_expires_at=now + timedelta(minutes=hold_minutes) if hold else None,
            manage_token_hash=token_hash(derive_manage_token(nonce)),
            confirm_token_hash=token_hash(confirm_token) if confirm_token else None,
        )
        _add_with_claim(appointment)
        if not hold:
            schedule_calendar_event(appointment)
            emit_appointment_event("appointment.booked", appointment)
        return appointment

    more_locks = [locks.booking_email(digest), *(hold_locks(digest, keys) if hold else [])]
    with objects_kept():  # what was read and written is not read again after each commit
        appointment = claim_time(wanted, write, now=now, more_locks=more_locks, fair_pass=request.fair_pass)
        metrics.BOOKINGS.labels("held" if hold else "confirmed").inc()
        manage_token = derive_manage_token(nonce)
        if confirm_token is not None:
            notifications.send_confirmation_request(appointment, confirm_token)
        else:
            notifications.send_confirmation(appointment, manage_token)
            calendar_services.request_drain()
    return BookingResult(appointment, manage_token, confirm_token)


def _add_with_claim(appointment: Appointment) -> None:
    """Insert the appointment and the ``SlotClaim`` of its staff time (the constraints on claims
    turn a lost race into an ``IntegrityError``)."""
    db.session.add(appointment)
    db.session.flush()
    db.session.execute(_INSERT_CLAIM, {"appointment_id": appointment.id, "staff_id": appointment.staff_id,
                                       "start_at": appointment.start_at, "blocked_until": appointment.blocked_until})


def confirm(code: str, confirm_token: str, *, now: datetime | None = None) -> BookingResult:
    """Confirm a hold by the token from the mail. Idempotent for an already confirmed appointment.
    A hold whose time ran out is confirmed only if its time is still free for the same staff
    member; otherwise ``Conflict(code="hold_expired", alternatives)``. Anything else than a hold:
    ``Conflict("not_pending")``. Queues the calendar event; after the commit the confirmation mail
    with the manage link."""
    now = now or datetime.now(UTC)
    appointment = find_appointment(code, confirm_token, "confirm_token_hash")
    manage_token = derive_manage_token(appointment.token_nonce)
    if appointment.status == CONFIRMED:
        return BookingResult(appointment, manage_token)
    appointment_id = appointment.id
    error: Conflict | None = None
    with write_transaction(*staff_locks(appointment.staff, appointment.start_at)):
        appointment = db.session.get(Appointment, appointment_id)
        if appointment.status not in (PENDING, EXPIRED):
            raise Conflict(_l("Dieser Termin kann nicht mehr bestätigt werden."), code="not_pending")
        if appointment.status == PENDING and appointment.hold_expires_at <= now:
            release(appointment, EXPIRED)
            db.session.flush()
        if appointment.status == EXPIRED:
            if appointment.start_at <= now or overlapping(
                appointment.staff_id, appointment.start_at, appointment.blocked_until, now, ignore_id=appointment.id
            ):
                error = slot_taken(appointment.service, appointment.location.key, appointment.start_at, now)
                error.code = "hold_expired"
                error.message = _l("Die Reservierung ist abgelaufen und der Termin inzwischen vergeben.")
            else:
                db.session.add(SlotClaim(appointment_id=appointment.id, staff_id=appointment.staff_id,
                                         start_at=appointment.start_at, blocked_until=appointment.blocked_until))
        if error is None:
            appointment.status = CONFIRMED
            appointment.confirmed_at = now
            appointment.hold_expires_at = None
            db.session.flush()
            schedule_calendar_event(appointment)
            emit_appointment_event("appointment.booked", appointment)
    if error is not None:
        raise error
    notifications.send_confirmation(appointment, manage_token)
    calendar_services.request_drain()
    return BookingResult(appointment, manage_token)
