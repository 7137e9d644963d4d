"""Never a dead end: a citizen who lost the mail gets the link again.

Rules:
- ``send_manage_link``: booking number + e-mail address. The manage link is sent again only to the
  address stored with the booking (compared as ``email_hash``, so every spelling of one mailbox
  matches) and only while the appointment is not erased. The caller learns nothing: the function
  answers ``None`` whether or not a booking matched, and the page says the same in both cases. The
  view rate-limits it (``limits.LOOKUP``).
- ``resend_confirmation``: a pending hold (by its manage token) gets a fresh confirmation link;
  the old one stops working (only the newest token's hash is stored). Only while the hold lives
  (``Conflict("not_pending")`` otherwise); rate-limited by the view.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from citizen_portal.booking.models import PENDING, Appointment
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.claim import staff_locks
from citizen_portal.booking.services.codes import email_hash, find_appointment, manage_token_for, normalize_code
from citizen_portal.core.database import write_transaction
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.security import new_token, same, token_hash


def send_manage_link(code: str, email: str) -> None:
    """Send the manage link of booking ``code`` to its stored address if ``email`` is that address;
    otherwise do nothing. Never tells which of the two happened."""
    appointment = db.session.scalars(select(Appointment).where(Appointment.code == normalize_code(code))).first()
    if appointment is None or not appointment.email_hash or not same(appointment.email_hash, email_hash(email)):
        return
    token = manage_token_for(appointment)
    if token:
        notifications.send_manage_link(appointment, token)


def held_by_confirm_token(code: str, confirm_token: str) -> Appointment:
    """The appointment a confirmation link names, so its page shows what is being confirmed
    (``NotFound`` for a wrong or replaced link, as ``confirm`` answers)."""
    return find_appointment(code, confirm_token, "confirm_token_hash")


def resend_confirmation(code: str, manage_token: str, *, now: datetime | None = None) -> Appointment:
    """A new confirmation link for a living hold, sent after the commit."""
    now = now or datetime.now(UTC)
    appointment = find_appointment(code, manage_token, "manage_token_hash")
    refusal = Conflict(_l("Dieser Termin wartet nicht mehr auf eine Bestätigung."), code="not_pending")
    confirm_token = new_token(24)
    with write_transaction(*staff_locks(appointment.staff, appointment.start_at)):
        db.session.refresh(appointment)
        if appointment.status != PENDING or not appointment.hold_expires_at or appointment.hold_expires_at <= now:
            raise refusal
        appointment.confirm_token_hash = token_hash(confirm_token)
    notifications.send_confirmation_request(appointment, confirm_token)
    return appointment
