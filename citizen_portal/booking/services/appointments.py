"""Booking and confirming appointments, and the rules they share with ``manage``.

The write path of ``book`` (and ``manage.move``):

1. validate the request (consent, email, lengths), load service and location;
2. run the slot engine for that one local day: the start must be on the grid (else ``Invalid``)
   and free for at least one qualified staff member (else ``Conflict("slot_taken")`` with the next
   free times);
3. order the free staff members fairly: fewest active appointments that local day, then staff id;
4. for each, ask the staff member's calendar live (``staff_calendar.services.is_free``, before any
   lock; on server failure the mirror decides); busy → next staff member;
5. ``write_transaction("booking-staff:<id>:<local day>", "booking-email:<hash>")`` → re-check the
   database (overlap incl. buffers, the staff member's room bookings, the per-address limit) →
   insert appointment + ``SlotClaim`` → for confirmed bookings queue the calendar event (outbox,
   same transaction) → commit;
   a lost race (overlap found or a constraint violation) → next staff member;
6. after the commit: mail (``notifications``) and ``request_drain()``.

Codes and tokens: ``codes``; the staff calendar event: ``calendar_events``.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.booking.models import (
    ACTIVE_STATUSES,
    CONFIRMED,
    EXPIRED,
    PENDING,
    Appointment,
    Location,
    Service,
    SlotClaim,
    StaffMember,
)
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.calendar_events import schedule_calendar_event
from citizen_portal.booking.services.codes import (
    derive_manage_token,
    email_hash,
    normalize_code,
    sha256_hex,
    unique_code,
)
from citizen_portal.booking.services.slot_engine import Slot, booking_settings, load_service, plan
from citizen_portal.booking.services.slots import next_free_slots
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l, site_timezone
from staff_calendar import services as calendar_services

log = logging.getLogger(__name__)

EMAIL_PATTERN = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
MAX_NAME, MAX_EMAIL, MAX_PHONE, MAX_NOTE = 200, 254, 50, 1000
PHONE_PATTERN = re.compile(r"^[0-9+()/ .-]{3,50}$")


@dataclass
class BookingRequest:
    """What a citizen submits (already parsed by ``schemas``). ``start`` is aware."""

    service_key: str
    location_key: str
    start: datetime
    name: str
    email: str
    phone: str | None = None
    note: str | None = None
    privacy_consent: bool = False
    language: str = "de"
    # set when the request passed the captcha only by waiting (no JavaScript): the slot is then
    # held until the citizen confirms by the link in the mail, like for email_confirmation services
    confirm_by_email: bool = False


@dataclass
class BookingResult:
    """``manage_token`` is shown once (API answer, mail link); ``confirm_token`` only for holds."""

    appointment: Appointment
    manage_token: str
    confirm_token: str | None = None


class StaffTaken(Exception):
    """Internal (``book``, ``manage.move``): this staff member lost the race; try the next one."""


# ---------------------------------------------------------------- validation and checks (shared with ``manage``)


def _validate(request: BookingRequest) -> dict[str, str]:
    name = (request.name or "").strip()
    email = (request.email or "").strip()
    phone = (request.phone or "").strip() or None
    note = (request.note or "").strip() or None
    fields = {}
    if not name:
        fields["name"] = _l("Bitte geben Sie Ihren Namen an.")
    elif len(name) > MAX_NAME:
        fields["name"] = _l("Höchstens 200 Zeichen.")
    if not email:
        fields["email"] = _l("Bitte geben Sie Ihre E-Mail-Adresse an.")
    elif len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email):
        fields["email"] = _l("Bitte geben Sie eine gültige E-Mail-Adresse an.")
    if phone is not None and not PHONE_PATTERN.match(phone):
        fields["phone"] = _l("Bitte geben Sie eine gültige Telefonnummer an.")
    if note is not None and len(note) > MAX_NOTE:
        fields["note"] = _l("Höchstens 1000 Zeichen.")
    if request.privacy_consent is not True:
        fields["privacy_consent"] = _l("Bitte stimmen Sie der Verarbeitung Ihrer Daten zu.")
    if request.start is None or request.start.tzinfo is None:
        fields["start"] = _l("Bitte wählen Sie eine Uhrzeit.")
    if fields:
        raise Invalid(fields=fields)
    return {"name": name, "email": email, "phone": phone, "note": note}


def _location_for(service: Service, location_key: str) -> Location:
    for location in service.locations:
        if location.key == location_key and location.active:
            return location
    raise Invalid(fields={"location": _l("Diese Dienstleistung wird an diesem Standort nicht angeboten.")})


def slot_at(service: Service, location: Location, start: datetime, now: datetime,
            ignore_appointment_id: int | None = None) -> Slot:
    """The free slot at ``start`` or a ``Conflict``/``Invalid`` explaining why not: a start off the
    grid (or outside lead time/horizon) is ``Invalid``, a taken one ``slot_taken``."""
    start = start.astimezone(UTC)
    day = start.astimezone(site_timezone()).date()
    result = plan(service, day, day, now=now, location_key=location.key,
                  ignore_appointment_id=ignore_appointment_id, with_grid=True)
    for slot in result.slots:
        if slot.start == start:
            return slot
    if (location.key, start) not in result.grid:
        message = _l("Zu dieser Zeit kann dieser Termin nicht gebucht werden.")
        raise Invalid(message, fields={"start": message})
    raise slot_taken(service, location.key, start, now)


def slot_taken(service: Service, location_key: str, start: datetime, now: datetime) -> Conflict:
    """``Conflict("slot_taken")`` with the next free times from ``start`` as ``alternatives``."""
    alternatives = next_free_slots(service, start, now=now, location_key=location_key)
    return Conflict(
        _l("Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie eine andere Zeit."),
        code="slot_taken",
        extra={"alternatives": [slot.to_json() for slot in alternatives]},
    )


def fair_order(slot: Slot, load: dict, day) -> list[int]:
    """The free staff members of ``slot``: fewest active appointments on the local ``day`` first,
    then by staff id."""
    return sorted(slot.staff_ids, key=lambda staff_id: (load.get((staff_id, day), 0), staff_id))


def _active_count(email_digest: str, service_id: int, now: datetime) -> int:
    """Active appointments of an address for a service: confirmed or living holds, not yet ended."""
    return db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.email_hash == email_digest,
            Appointment.service_id == service_id,
            Appointment.status.in_((PENDING, CONFIRMED)),
            Appointment.end_at > now,
            (Appointment.status != PENDING) | (Appointment.hold_expires_at > now),
        )
    ) or 0


def _limit_reached() -> Conflict:
    message = _l("Sie haben für diese Dienstleistung bereits einen Termin. Bitte sagen Sie ihn ab, "
                 "bevor Sie einen neuen buchen.")
    return Conflict(message, code="limit_reached", extra={"fields": {"email": str(message)}})


def expire_stale_holds(staff_id: int, start: datetime, blocked_until: datetime, now: datetime) -> None:
    """Inside the lock: holds of this staff member overlapping the range whose time ran out are
    expired now (the job would do it later), so their claims do not block a new booking."""
    stale = db.session.scalars(
        select(Appointment).where(
            Appointment.staff_id == staff_id, Appointment.status == PENDING,
            Appointment.hold_expires_at <= now,
            Appointment.start_at < blocked_until, Appointment.blocked_until > start,
        )
    ).all()
    for appointment in stale:
        release(appointment, EXPIRED)


def overlapping(staff_id: int, start: datetime, blocked_until: datetime, now: datetime,
                ignore_id: int | None = None) -> bool:
    """Whether an active appointment of ``staff_id`` (a pending one only while its hold lives) or one
    of the staff member's bookings held by ``staff_calendar`` (a room booking) overlaps
    ``[start, blocked_until)``; ``ignore_id`` is the appointment being moved or confirmed."""
    query = select(func.count(Appointment.id)).where(
        Appointment.staff_id == staff_id,
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < blocked_until,
        Appointment.blocked_until > start,
        (Appointment.status != PENDING) | (Appointment.hold_expires_at > now),
    )
    if ignore_id is not None:
        query = query.where(Appointment.id != ignore_id)
    if db.session.scalar(query):
        return True
    staff_key = db.session.scalar(select(StaffMember.key).where(StaffMember.id == staff_id))
    return bool(calendar_services.booked_seconds([staff_key], start, blocked_until).get(staff_key))


def release(appointment: Appointment, status: str) -> None:
    """Set ``status`` (cancelled, expired) and drop the appointment's ``SlotClaim``: the time is free."""
    appointment.status = status
    db.session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment.id))


def lock_names(staff_id: int, start: datetime, *more: str) -> list[str]:
    """Write locks: one per staff member and local day (``booking-staff:<id>:<day>``), plus ``more``."""
    day = start.astimezone(site_timezone()).date().isoformat()
    return [f"booking-staff:{staff_id}:{day}", *more]


def after_commit(kind: str, appointment: Appointment, token: str | None) -> None:
    """Side effects after the commit; a mail failure never undoes a booking."""
    try:
        if kind == "confirmed":
            notifications.send_confirmation(appointment, token)
        elif kind == "hold":
            notifications.send_confirmation_request(appointment, token)
        elif kind == "moved":
            notifications.send_confirmation(appointment, token, moved=True)
        elif kind == "cancelled":
            notifications.send_cancellation(appointment)
    except Exception:
        log.exception("booking mail failed: %s", kind)
    calendar_services.request_drain()


# ---------------------------------------------------------------- public services


def book(request: BookingRequest, *, now: datetime | None = None) -> BookingResult:
    """Book a free time; see the module docstring for the order of steps.

    Rules: privacy consent required; name <= 200, email valid, phone/note optional (<= 50/1000);
    the start lies on the slot grid and within lead time and horizon; the service is offered at the
    location; at most ``service.max_active_per_email`` active (future, not cancelled) appointments
    per address and service (``Conflict(code="limit_reached")``); a service with
    ``email_confirmation`` creates a hold of ``hold_minutes`` (status ``pending_confirmation``),
    otherwise the appointment is ``confirmed`` and its calendar event queued.
    Raises ``Invalid``, ``NotFound`` (service), ``Conflict("slot_taken", alternatives)``."""
    now = now or datetime.now(UTC)
    values = _validate(request)
    service = load_service(request.service_key)
    location = _location_for(service, request.location_key)
    start = request.start.astimezone(UTC)
    digest = email_hash(values["email"])
    limit = max(service.max_active_per_email, 1)
    if _active_count(digest, service.id, now) >= limit:
        raise _limit_reached()

    slot = slot_at(service, location, start, now)
    day = start.astimezone(site_timezone()).date()
    result = plan(service, day, day, now=now, location_key=location.key)
    staff_by_id = {member.id: member for member in db.session.scalars(
        select(StaffMember).where(StaffMember.id.in_(slot.staff_ids))
    )}
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    settings = booking_settings()
    hold = service.email_confirmation or request.confirm_by_email

    for staff_id in fair_order(slot, result.load, day):
        staff = staff_by_id[staff_id]
        if staff.calendar_key:
            check = calendar_services.is_free(staff.calendar_key, start, blocked_until)
            if not check.free:
                continue
        nonce = secrets.token_urlsafe(24)
        confirm_token = secrets.token_urlsafe(24) if hold else None
        try:
            with write_transaction(*lock_names(staff_id, start, f"booking-email:{digest}")):
                expire_stale_holds(staff_id, start, blocked_until, now)
                if overlapping(staff_id, start, blocked_until, now):
                    raise StaffTaken()
                if _active_count(digest, service.id, now) >= limit:
                    raise _limit_reached()
                appointment = Appointment(
                    code=unique_code(), service_id=service.id, location_id=location.id, staff_id=staff_id,
                    start_at=start, end_at=end, blocked_until=blocked_until,
                    status=PENDING if hold else CONFIRMED, language=request.language or "de",
                    name=values["name"], email=values["email"], phone=values["phone"], note=values["note"],
                    email_hash=digest, token_nonce=nonce, created_at=now,
                    confirmed_at=None if hold else now,
                    hold_expires_at=now + timedelta(minutes=settings.hold_minutes) if hold else None,
                    confirm_token_hash=sha256_hex(confirm_token) if confirm_token else None,
                )
                appointment.manage_token_hash = sha256_hex(derive_manage_token(nonce))
                db.session.add(appointment)
                db.session.flush()
                db.session.add(SlotClaim(appointment_id=appointment.id, staff_id=staff_id,
                                         start_at=start, blocked_until=blocked_until))
                db.session.flush()
                if not hold:
                    schedule_calendar_event(appointment)
        except StaffTaken:
            continue
        except IntegrityError:
            continue
        manage_token = derive_manage_token(nonce)
        if hold:
            after_commit("hold", appointment, confirm_token)
        else:
            after_commit("confirmed", appointment, manage_token)
        return BookingResult(appointment, manage_token, confirm_token)
    raise slot_taken(service, location.key, start, now)


def confirm(code: str, confirm_token: str, *, now: datetime | None = None) -> BookingResult:
    """Confirm a hold by the token from the mail. Idempotent for an already confirmed appointment.
    A hold whose time ran out is confirmed only if its time is still free for the same staff
    member; otherwise ``Conflict(code="hold_expired", alternatives)``. Queues the calendar event;
    after commit the confirmation mail with the manage link."""
    now = now or datetime.now(UTC)
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if (appointment is None or not confirm_token or appointment.confirm_token_hash is None
            or not hmac.compare_digest(appointment.confirm_token_hash, sha256_hex(confirm_token))):
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    manage_token = derive_manage_token(appointment.token_nonce)
    if appointment.status == CONFIRMED:
        return BookingResult(appointment, manage_token)
    appointment_id = appointment.id
    error: Conflict | None = None
    with write_transaction(*lock_names(appointment.staff_id, appointment.start_at)):
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
    if error is not None:
        raise error
    after_commit("confirmed", appointment, manage_token)
    return BookingResult(appointment, manage_token)
