"""Privacy and reminder jobs.

- ``erase_personal_data``: ``erase_after_days`` (default 30) after an appointment took place,
  its name, email, phone, note, the e-mail, session and client hashes and the token material are
  set to NULL and ``erased_at`` is stamped; service, location, staff member, times and status stay
  for anonymous statistics. Holds that expired more than a day ago are erased the same way (nobody
  needs them). In the same transaction the staff calendar event of every erased appointment that
  has one (confirmed, arrived, no-show) is rewritten without personal data (``event_details``
  "with_name"/"full" put name, e-mail, phone and note into it): an outbox update through
  ``calendar_events.schedule_calendar_event``, delivered by the worker after the commit.
- ``send_reminders``: ``reminder_hours`` (default 24) before a confirmed appointment, once
  (``reminder_sent_at``), not for appointments booked or moved inside that window.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from citizen_portal.booking.models import ARRIVED, CONFIRMED, EXPIRED, NO_SHOW, Appointment
from citizen_portal.booking.services import notifications
from citizen_portal.booking.services.calendar_events import schedule_calendar_event
from citizen_portal.booking.services.codes import manage_token_for
from citizen_portal.booking.services.slot_engine import booking_settings
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from staff_calendar import services as calendar_services

log = logging.getLogger(__name__)

PERSONAL_FIELDS = ("name", "email", "phone", "note", "email_hash", "session_hash", "client_hash",
                   "token_nonce", "manage_token_hash", "confirm_token_hash")
# statuses whose staff calendar event exists (a hold has none yet, a cancelled one was removed)
WITH_EVENT = (CONFIRMED, ARRIVED, NO_SHOW)


def erase_personal_data(*, now: datetime | None = None) -> int:
    """Erase personal data of appointments past the retention time; returns how many were erased."""
    now = now or datetime.now(UTC)
    days = booking_settings().erase_after_days
    with write_transaction():
        due = db.session.scalars(
            select(Appointment).where(
                Appointment.erased_at.is_(None),
                or_(
                    Appointment.end_at < now - timedelta(days=days),
                    (Appointment.status == EXPIRED) & (Appointment.hold_expires_at < now - timedelta(days=1)),
                ),
            )
        ).all()
        for appointment in due:
            for field in PERSONAL_FIELDS:
                setattr(appointment, field, None)
            appointment.erased_at = now
            if appointment.status in WITH_EVENT:
                schedule_calendar_event(appointment)
        count = len(due)
    if count:
        log.info("erased personal data of %d appointments", count)
        calendar_services.request_drain()
    return count


def send_reminders(*, now: datetime | None = None) -> int:
    """Send due reminders; each appointment is claimed (``reminder_sent_at``) in a committed
    transaction before its mail goes out, so two workers never both send; a failed mail resets
    the claim for the next run."""
    now = now or datetime.now(UTC)
    window = timedelta(hours=booking_settings().reminder_hours)
    with write_transaction():
        due = db.session.scalars(
            select(Appointment).where(
                Appointment.status == CONFIRMED,
                Appointment.reminder_sent_at.is_(None),
                Appointment.erased_at.is_(None),
                Appointment.start_at > now,
                Appointment.start_at <= now + window,
            )
        ).all()
        due = [a for a in due if (a.moved_at or a.confirmed_at or a.created_at) <= a.start_at - window]
        for appointment in due:
            appointment.reminder_sent_at = now
    sent = 0
    for appointment in due:
        if notifications.send_reminder(appointment, manage_token_for(appointment)):
            sent += 1
        else:
            with write_transaction():
                db.session.execute(
                    update(Appointment).where(Appointment.id == appointment.id).values(reminder_sent_at=None)
                )
    return sent
