"""Mails through a real SMTP sink: confirmation with .ics (METHOD, UID, SEQUENCE, VTIMEZONE) and
manage link, hold confirmation request, cancellation (METHOD:CANCEL, same UID, higher SEQUENCE),
reminder, English for English bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from citizen_portal.booking import services
from citizen_portal.booking.services.calendar_events import appointment_uid
from tests.citizen_portal.booking.factories import contact, make_setup
from tests.fixtures.mail import body_text

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TUESDAY = date(2026, 3, 3)


def book(service, location, hh=9, language="de", **kw):
    request = services.BookingRequest(
        service_key=service.key, location_key=location.key,
        start=datetime(2026, 3, 3, hh, 0, tzinfo=BERLIN), contact=contact(), language=language, **kw)
    return services.book(request, now=NOW)


def ics_of(message) -> str:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    data = part.get_content()
    return data.decode() if isinstance(data, bytes) else data


def unfold(text: str) -> str:
    return text.replace("\r\n ", "").replace("\r\n", "\n")


def test_confirmation_mail_with_ics_and_manage_link(app, smtp_sink):
    location, service, _ = make_setup(service_kw={"documents": {"de": ["Personalausweis"]}})
    result = book(service, location)
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "erika@example.org"
    assert result.appointment.code in message["Subject"]
    text = body_text(message)
    assert f"/termine/verwalten/{result.appointment.code}?token={result.manage_token}" in text
    assert "09:00" in text and "Personalausweis" in text and location.address in text
    ics = unfold(ics_of(message))
    assert "METHOD:REQUEST" in ics and "BEGIN:VTIMEZONE" in ics and "TZID:Europe/Berlin" in ics
    assert f"UID:{appointment_uid(result.appointment)}" in ics
    assert "SEQUENCE:0" in ics and "Marktplatz 1" in ics


def test_english_booking_gets_english_mail(app, smtp_sink):
    location, service, _ = make_setup()
    book(service, location, language="en")
    [message] = smtp_sink.wait_for(1)
    assert "Appointment" in message["Subject"] or "appointment" in message["Subject"].lower()


def test_hold_mail_has_confirmation_link_and_no_ics(app, smtp_sink):
    location, service, _ = make_setup(service_kw={"email_confirmation": True})
    result = book(service, location)
    [message] = smtp_sink.wait_for(1)
    assert f"/termine/bestaetigen/{result.appointment.code}?token={result.confirm_token}" in body_text(message)
    assert not [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    services.confirm(result.appointment.code, result.confirm_token, now=NOW + timedelta(minutes=1))
    confirmation = smtp_sink.wait_for(2)[1]
    assert "METHOD:REQUEST" in unfold(ics_of(confirmation))


def test_cancellation_mail_same_uid_higher_sequence(app, smtp_sink):
    location, service, _ = make_setup()
    result = book(service, location)
    services.cancel(result.appointment.code, result.manage_token, now=NOW)
    confirmation, cancellation = smtp_sink.wait_for(2)
    first, second = unfold(ics_of(confirmation)), unfold(ics_of(cancellation))
    uid = f"UID:{appointment_uid(result.appointment)}"
    assert uid in first and uid in second
    assert "METHOD:CANCEL" in second and "STATUS:CANCELLED" in second and "SEQUENCE:1" in second


def test_move_mail_same_uid_higher_sequence(app, smtp_sink):
    location, service, _ = make_setup()
    result = book(service, location)
    services.move(result.appointment.code, result.manage_token, datetime(2026, 3, 3, 10, tzinfo=BERLIN), now=NOW)
    _, moved = smtp_sink.wait_for(2)
    ics = unfold(ics_of(moved))
    assert "METHOD:REQUEST" in ics and "SEQUENCE:1" in ics
    assert f"token={result.manage_token}" in body_text(moved)


def test_reminder_once_with_working_manage_link(app, smtp_sink):
    location, service, _ = make_setup()
    result = book(service, location, hh=11)
    smtp_sink.wait_for(1)
    assert services.send_reminders(now=NOW + timedelta(hours=3)) == 0  # too early (start - 24 h)
    due = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert services.send_reminders(now=due) == 1
    assert services.send_reminders(now=due) == 0
    reminder = smtp_sink.wait_for(2)[1]
    assert f"token={result.manage_token}" in body_text(reminder)


def test_no_reminder_for_late_bookings(app, smtp_sink):
    location, service, _ = make_setup()
    request = services.BookingRequest(service_key=service.key, location_key=location.key,
                                      start=datetime(2026, 3, 2, 11, tzinfo=BERLIN),
                                      contact=contact("E", "e@example.org"))
    services.book(request, now=NOW)
    assert services.send_reminders(now=NOW + timedelta(minutes=5)) == 0


def test_the_booking_queues_what_the_courier_builds_the_ics_from_and_the_mail_says_what_was_booked(app, smtp_sink):
    """The request stores the .ics fields (no MIME message, no iCalendar file); the courier builds both
    at delivery, with the facts of the moment of booking even when the office changed in between."""
    import json

    from sqlalchemy import select

    from citizen_portal.core import mail
    from citizen_portal.core.extensions import db
    from citizen_portal.core.models import QueuedMail
    from tests.fixtures.database import free_port

    location, service, _ = make_setup()
    booked_address = location.address
    smtp = dict(smtp_sink.config)
    app.config.update(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=free_port())  # the relay is down
    result = book(service, location)
    row = db.session.scalars(select(QueuedMail)).one()
    stored = json.loads(row.parts)
    assert row.message is None and stored["message_id"] and stored["date"]
    [attachment] = stored["attachments"]
    assert (attachment["build"], attachment["data"], attachment["spec"]["method"]) == ("itip", None, "REQUEST")

    location.address = "Neue Straße 5"  # the office moves before the relay is back
    app.config.update(smtp)
    db.session.execute(QueuedMail.__table__.update().values(next_attempt_at=QueuedMail.created_at))
    db.session.commit()
    assert mail.deliver_mail_outbox() == "1 sent, 0 waiting"
    [message] = smtp_sink.wait_for(1)
    assert message["Message-ID"].strip() == stored["message_id"] and message["Date"].strip() == stored["date"]
    ics = unfold(ics_of(message))
    assert f"UID:{appointment_uid(result.appointment)}" in ics and "METHOD:REQUEST" in ics
    assert booked_address.replace(",", "\\,") in ics and "Neue Straße" not in ics
    assert f"– {result.appointment.code}" in ics  # UTF-8, declared as such (charset=UTF-8)
    assert db.session.get(QueuedMail, row.id).parts is None  # erased once sent
