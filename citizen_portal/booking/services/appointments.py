"""Booking, confirming, cancelling and moving appointments: every rule once.

The write path of ``book`` (and ``move``):

1. validate the request (consent, email, lengths), load service and location;
2. run the slot engine for that one local day: the start must be on the grid (else ``Invalid``)
   and free for at least one qualified staff member (else ``Conflict("slot_taken")`` with the next
   free times);
3. order the free staff members fairly: fewest active appointments that local day, then staff id;
4. for each, ask the staff member's calendar live (``staff_calendar.services.is_free``, before any
   lock; on server failure the mirror decides); busy → next staff member;
5. ``write_transaction("booking-staff:<id>:<local day>", "booking-email:<hash>")`` → re-check the
   database (overlap incl. buffers, the per-address limit) → insert appointment + ``SlotClaim`` →
   for confirmed bookings queue the calendar event (outbox, same transaction) → commit;
   a lost race (overlap found or a constraint violation) → next staff member;
6. after the commit: mail (``notifications``) and ``request_drain()``.

Tokens: the manage token is ``HMAC(SECRET_KEY, "manage:<nonce>")`` (url-safe), only its SHA-256
is stored, so a database leak reveals no working link, and the reminder job can re-derive the link
for its mail. The confirmation token of a hold is random; only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from citizen_portal.booking.models import (
    ACTIVE_STATUSES,
    ARRIVED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    NO_SHOW,
    PENDING,
    Appointment,
    SlotClaim,
)
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.slots import (
    Slot,
    booking_settings,
    load_service,
    next_free_slots,
    plan,
)
from citizen_portal.database import write_transaction
from citizen_portal.errors import Conflict, Invalid, NotFound
from citizen_portal.extensions import db
from citizen_portal.i18n import _l, site_timezone
from citizen_portal.models import Location, Service, StaffMember
from staff_calendar import services as calendar_services

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
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


class _StaffTaken(Exception):
    """Internal: this staff member lost the race; try the next one."""


# ---------------------------------------------------------------- tokens and codes


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the lower-cased address keyed with ``SECRET_KEY`` (for the per-address limit)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def manage_token_for(appointment: Appointment) -> str | None:
    """Re-derive the manage token (None once erased)."""
    return _derive(appointment.token_nonce) if appointment.token_nonce else None


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    return f"{raw[:3]}-{raw[3:]}"


def normalize_code(code: str) -> str:
    cleaned = re.sub(r"[^0-9A-Za-z]", "", code or "").upper()
    return f"{cleaned[:3]}-{cleaned[3:]}" if len(cleaned) == 6 else cleaned


# ---------------------------------------------------------------- validation


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


def _slot_at(service: Service, location: Location, start: datetime, now: datetime,
             ignore_appointment_id: int | None = None) -> Slot:
    """The free slot at ``start`` or a ``Conflict``/``Invalid`` explaining why not."""
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
    alternatives = next_free_slots(service, start, now=now, location_key=location_key)
    return Conflict(
        _l("Dieser Termin ist leider gerade vergeben worden. Bitte wählen Sie eine andere Zeit."),
        code="slot_taken",
        extra={"alternatives": [slot.to_json() for slot in alternatives]},
    )


def _fair_order(slot: Slot, load: dict, day) -> list[int]:
    return sorted(slot.staff_ids, key=lambda staff_id: (load.get((staff_id, day), 0), staff_id))


def _active_count(email_digest: str, service_id: int, now: datetime) -> int:
    return db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.email_hash == email_digest,
            Appointment.service_id == service_id,
            Appointment.status.in_((PENDING, CONFIRMED)),
            Appointment.end_at > now,
            (Appointment.status != PENDING) | (Appointment.hold_expires_at > now),
        )
    ) or 0


def _expire_stale_holds(staff_id: int, start: datetime, blocked_until: datetime, now: datetime) -> None:
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
        _release(appointment, EXPIRED)


def _overlapping(staff_id: int, start: datetime, blocked_until: datetime, now: datetime,
                 ignore_id: int | None = None) -> bool:
    query = select(func.count(Appointment.id)).where(
        Appointment.staff_id == staff_id,
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at < blocked_until,
        Appointment.blocked_until > start,
        (Appointment.status != PENDING) | (Appointment.hold_expires_at > now),
    )
    if ignore_id is not None:
        query = query.where(Appointment.id != ignore_id)
    return bool(db.session.scalar(query))


def _release(appointment: Appointment, status: str) -> None:
    appointment.status = status
    db.session.execute(delete(SlotClaim).where(SlotClaim.appointment_id == appointment.id))


def _lock_names(staff_id: int, start: datetime, *more: str) -> list[str]:
    day = start.astimezone(site_timezone()).date().isoformat()
    return [f"booking-staff:{staff_id}:{day}", *more]


def event_summary(appointment: Appointment) -> str:
    """Summary of the staff calendar event: "<service name> – <code>" (German service name)."""
    name = appointment.service.name.get("de") or next(iter(appointment.service.name.values()), "")
    return f"{name} – {appointment.code}"


def _event_description(appointment: Appointment) -> str | None:
    """What the staff event may carry beyond the summary: ``settings["booking"]["event_details"]``
    "service_and_code" (default: nothing personal), "with_name" (+ citizen's name) or "full"
    (+ email, phone, note)."""
    details = booking_settings().get("event_details", "service_and_code")
    if details == "with_name":
        return appointment.name
    if details == "full":
        lines = [appointment.name, appointment.email, appointment.phone, appointment.note]
        return "\n".join(line for line in lines if line)
    return None


def _schedule_calendar_event(appointment: Appointment) -> None:
    staff = appointment.staff
    if not staff.calendar_key:
        return
    calendar_services.schedule_event(
        calendar_key=staff.calendar_key,
        uid=calendar_services.event_uid("appointment", appointment.id),
        summary=event_summary(appointment),
        start=appointment.start_at,
        end=appointment.end_at,
        location=appointment.location.address or None,
        description=_event_description(appointment),
    )


def _remove_calendar_event(appointment: Appointment, staff: StaffMember) -> None:
    if staff.calendar_key:
        calendar_services.schedule_event_removal(
            calendar_key=staff.calendar_key, uid=calendar_services.event_uid("appointment", appointment.id)
        )


def _after_commit(kind: str, appointment: Appointment, token: str | None) -> None:
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

    slot = _slot_at(service, location, start, now)
    day = start.astimezone(site_timezone()).date()
    result = plan(service, day, day, now=now, location_key=location.key)
    staff_by_id = {member.id: member for member in db.session.scalars(
        select(StaffMember).where(StaffMember.id.in_(slot.staff_ids))
    )}
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    settings = booking_settings()
    hold = service.email_confirmation or request.confirm_by_email

    for staff_id in _fair_order(slot, result.load, day):
        staff = staff_by_id[staff_id]
        if staff.calendar_key:
            check = calendar_services.is_free(staff.calendar_key, start, blocked_until)
            if not check.free:
                continue
        nonce = secrets.token_urlsafe(24)
        confirm_token = secrets.token_urlsafe(24) if hold else None
        try:
            with write_transaction(*_lock_names(staff_id, start, f"booking-email:{digest}")):
                _expire_stale_holds(staff_id, start, blocked_until, now)
                if _overlapping(staff_id, start, blocked_until, now):
                    raise _StaffTaken()
                if _active_count(digest, service.id, now) >= limit:
                    raise _limit_reached()
                appointment = Appointment(
                    code=_unique_code(), service_id=service.id, location_id=location.id, staff_id=staff_id,
                    start_at=start, end_at=end, blocked_until=blocked_until,
                    status=PENDING if hold else CONFIRMED, language=request.language or "de",
                    name=values["name"], email=values["email"], phone=values["phone"], note=values["note"],
                    email_hash=digest, token_nonce=nonce, created_at=now,
                    confirmed_at=None if hold else now,
                    hold_expires_at=now + timedelta(minutes=int(settings["hold_minutes"])) if hold else None,
                    confirm_token_hash=_sha256(confirm_token) if confirm_token else None,
                )
                appointment.manage_token_hash = _sha256(_derive(nonce))
                db.session.add(appointment)
                db.session.flush()
                db.session.add(SlotClaim(appointment_id=appointment.id, staff_id=staff_id,
                                         start_at=start, blocked_until=blocked_until))
                db.session.flush()
                if not hold:
                    _schedule_calendar_event(appointment)
        except _StaffTaken:
            continue
        except IntegrityError:
            continue
        manage_token = _derive(nonce)
        if hold:
            _after_commit("hold", appointment, confirm_token)
        else:
            _after_commit("confirmed", appointment, manage_token)
        return BookingResult(appointment, manage_token, confirm_token)
    raise slot_taken(service, location.key, start, now)


def _derive(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"manage:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _unique_code() -> str:
    for _ in range(20):
        code = new_code()
        if db.session.scalar(select(func.count(Appointment.id)).where(Appointment.code == code)) == 0:
            return code
    raise RuntimeError("no free booking code found")


def _limit_reached() -> Conflict:
    message = _l("Sie haben für diese Dienstleistung bereits einen Termin. Bitte sagen Sie ihn ab, "
                 "bevor Sie einen neuen buchen.")
    return Conflict(message, code="limit_reached", extra={"fields": {"email": str(message)}})


def get_by_token(code: str, manage_token: str | None) -> Appointment:
    """The appointment with this code if ``manage_token`` fits; ``NotFound`` otherwise (a wrong
    token and an unknown code look the same). Erased appointments are not found."""
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if appointment is None or not manage_token or appointment.manage_token_hash is None:
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    if not hmac.compare_digest(appointment.manage_token_hash, _sha256(manage_token)):
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    return appointment


def confirm(code: str, confirm_token: str, *, now: datetime | None = None) -> BookingResult:
    """Confirm a hold by the token from the mail. Idempotent for an already confirmed appointment.
    A hold whose time ran out is confirmed only if its time is still free for the same staff
    member; otherwise ``Conflict(code="hold_expired", alternatives)``. Queues the calendar event;
    after commit the confirmation mail with the manage link."""
    now = now or datetime.now(UTC)
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if (appointment is None or not confirm_token or appointment.confirm_token_hash is None
            or not hmac.compare_digest(appointment.confirm_token_hash, _sha256(confirm_token))):
        raise NotFound(_l("Diesen Termin gibt es nicht, oder der Link ist nicht mehr gültig."))
    manage_token = _derive(appointment.token_nonce)
    if appointment.status == CONFIRMED:
        return BookingResult(appointment, manage_token)
    appointment_id = appointment.id
    error: Conflict | None = None
    with write_transaction(*_lock_names(appointment.staff_id, appointment.start_at)):
        appointment = db.session.get(Appointment, appointment_id)
        if appointment.status not in (PENDING, EXPIRED):
            raise Conflict(_l("Dieser Termin kann nicht mehr bestätigt werden."), code="not_pending")
        if appointment.status == PENDING and appointment.hold_expires_at <= now:
            _release(appointment, EXPIRED)
            db.session.flush()
        if appointment.status == EXPIRED:
            if appointment.start_at <= now or _overlapping(
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
            _schedule_calendar_event(appointment)
    if error is not None:
        raise error
    _after_commit("confirmed", appointment, manage_token)
    return BookingResult(appointment, manage_token)




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
    with write_transaction(*_lock_names(appointment.staff_id, appointment.start_at)):
        appointment = db.session.get(Appointment, appointment_id)
        _release(appointment, CANCELLED)
        appointment.cancelled_at = now
        appointment.sequence += 1
        if was_confirmed:
            _remove_calendar_event(appointment, appointment.staff)
    _after_commit("cancelled" if was_confirmed else "none", appointment, None)
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
    slot = _slot_at(service, location, new_start, now, ignore_appointment_id=appointment.id)
    day = new_start.astimezone(site_timezone()).date()
    load = plan(service, day, day, now=now, location_key=location.key, ignore_appointment_id=appointment.id).load
    order = _fair_order(slot, load, day)
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
        locks = {*_lock_names(staff_id, new_start), *_lock_names(old_staff_id, old_start)}
        try:
            with write_transaction(*locks):
                appointment = db.session.get(Appointment, appointment_id)
                _expire_stale_holds(staff_id, new_start, new_blocked, now)
                if _overlapping(staff_id, new_start, new_blocked, now, ignore_id=appointment_id):
                    raise _StaffTaken()
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
                        _remove_calendar_event(appointment, old_staff)
                    _schedule_calendar_event(appointment)
        except (_StaffTaken, IntegrityError):
            continue
        if appointment.status == CONFIRMED:
            _after_commit("moved", appointment, manage_token)
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
            _release(appointment, EXPIRED)
    return len(stale)
