"""Mails to citizens: confirmation (with .ics and manage link), confirmation request for holds,
cancellation (METHOD:CANCEL), reminder. Always called after the commit; a mail that fails is
logged (its kind and the error's type, nothing personal) and reported by ``False``, never raised:
it must not undo what was committed.

Language: the citizen's language at booking time (``Appointment.language``). Dates: the site zone.
Links (agreed with the HTML views): ``<BASE_URL>/termine/verwalten/<code>?token=<manage token>``
and ``<BASE_URL>/termine/bestaetigen/<code>?token=<confirm token>``.
The log names only the kind of mail (``citizen_portal.core.mail``), never recipient, code or token.
"""

from __future__ import annotations

import logging
from email.utils import parseaddr
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale

from citizen_portal.booking.models import Appointment
from citizen_portal.booking.services.calendar_events import appointment_uid
from citizen_portal.booking.services.office import OfficeInfo, office_info
from citizen_portal.core.i18n import _, localized, regional
from citizen_portal.core.mail import Attachment, Mail, send_mail
from staff_calendar import services as calendar_services

log = logging.getLogger(__name__)


def manage_url(code: str, token: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/termine/verwalten/{quote(code)}?token={quote(token)}"


def confirm_url(code: str, token: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/termine/bestaetigen/{quote(code)}?token={quote(token)}"


def citizen_summary(appointment: Appointment) -> str:
    """Summary of the citizen's calendar entry: service name (in the citizen's language) and code."""
    names = appointment.service.name or {}
    name = names.get(appointment.language) or names.get("de") or next(iter(names.values()), "")
    return f"{name} – {appointment.code}"


def _event_fields(appointment: Appointment, manage_link: str | None, office: OfficeInfo | None = None) -> dict:
    """What the citizen's calendar entry says (in the current locale): summary, place, a
    DESCRIPTION with the documents to bring, the office's phone and the manage link, and URL.
    ``office``: the appointment's ``office_info`` when the caller has it already."""
    location = appointment.location
    office = office or office_info(appointment.service, location)
    lines = [_("Buchungsnummer: %(code)s", code=appointment.code)]
    if office.documents:
        lines += ["", _("Bitte mitbringen:"), *(f"- {item}" for item in office.documents)]
    if office.phone:
        lines += ["", _("Telefon: %(phone)s", phone=office.phone)]
    if manage_link:
        lines += ["", _("Termin ansehen, verschieben oder absagen:"), manage_link]
    return {
        "uid": appointment_uid(appointment),
        "sequence": appointment.sequence, "summary": citizen_summary(appointment),
        "start": appointment.start_at, "end": appointment.end_at,
        "location": ", ".join(part for part in (localized(location.name), location.address) if part) or None,
        "description": "\n".join(lines), "url": manage_link,
        "alarm_minutes": current_app.config["CITIZEN_ICS_ALARM_MINUTES"] or None,
    }


def itip_attachment(appointment: Appointment, method: str, manage_link: str | None = None,
                    office: OfficeInfo | None = None) -> Attachment:
    """The iTIP attachment: METHOD REQUEST or CANCEL, UID of the staff event, current SEQUENCE,
    DESCRIPTION (documents, manage link), URL and the optional VALARM. Its text is fixed now (in the
    current locale); the mail outbox's courier builds the file ("itip", ``staff_calendar.services``)."""
    organizer = parseaddr(current_app.config["MAIL_FROM"])[1] or "noreply@example.invalid"
    spec = calendar_services.itip_spec(method=method, organizer_email=organizer, attendee_email=appointment.email,
                                       attendee_name=appointment.name,
                                       **_event_fields(appointment, manage_link, office))
    return Attachment(filename="termin.ics" if method == "REQUEST" else "absage.ics",
                      content_type=f"text/calendar; method={method}; charset=UTF-8", build="itip", spec=spec)


def calendar_file(appointment: Appointment, manage_token: str) -> bytes:
    """The "In den Kalender eintragen" download of the booked and manage pages (METHOD:PUBLISH)."""
    return calendar_services.citizen_event(**_event_fields(appointment, manage_url(appointment.code, manage_token)))


def _send(appointment: Appointment, kind: str, subject_text, template: str, *, method: str | None = None,
          **context) -> bool:
    """Render and send one mail; ``False`` when it failed (logged), ``True`` otherwise."""
    if not appointment.email:
        return True
    try:
        _render_and_send(appointment, kind, subject_text, template, method, context)
    except Exception as error:
        log.error("booking mail failed: %s (%s)", kind, type(error).__name__)
        return False
    return True


def _render_and_send(appointment: Appointment, kind: str, subject_text, template: str, method: str | None,
                     context: dict) -> None:
    language = appointment.language or "de"
    with force_locale(regional(language)):
        office = office_info(appointment.service, appointment.location)
        text = render_template(f"email/booking/{template}.txt", appointment=appointment, office=office, **context)
        subject = str(subject_text())
        sender_name = _("%(site)s – Terminvergabe", site=office.site_name) if office.site_name else None
        attachments = [itip_attachment(appointment, method, context.get("manage_url"), office)] if method else []
    headers = {"Auto-Submitted": "auto-generated", "Content-Language": language}
    if office.email:
        headers["Reply-To"] = office.email
    send_mail(Mail(to=appointment.email, subject=subject, text=text, kind=kind, attachments=attachments,
                   sender_name=sender_name, headers=headers))


def send_confirmation(appointment: Appointment, manage_token: str | None, *, moved: bool = False) -> bool:
    """Booking (or move) confirmed: details, documents to bring, manage link, .ics REQUEST."""
    def subject():
        if moved:
            return _("Ihr Termin wurde verschoben: %(code)s", code=appointment.code)
        return _("Terminbestätigung: %(code)s", code=appointment.code)

    return _send(appointment, "booking-moved" if moved else "booking-confirmation", subject, "confirmation",
                 method="REQUEST", moved=moved,
                 manage_url=manage_url(appointment.code, manage_token) if manage_token else None)


def send_confirmation_request(appointment: Appointment, confirm_token: str) -> bool:
    """Hold created: please confirm within ``hold_minutes`` via the link (no .ics yet)."""
    return _send(appointment, "booking-hold",
                 lambda: _("Bitte bestätigen Sie Ihren Termin: %(code)s", code=appointment.code),
                 "confirm_request", confirm_url=confirm_url(appointment.code, confirm_token))


def send_cancellation(appointment: Appointment) -> bool:
    """Cancelled: .ics CANCEL with the same UID and the raised SEQUENCE."""
    return _send(appointment, "booking-cancellation",
                 lambda: _("Ihr Termin wurde abgesagt: %(code)s", code=appointment.code),
                 "cancellation", method="CANCEL")


def send_manage_link(appointment: Appointment, manage_token: str) -> bool:
    """Lost the mail: the manage link again (asked for with booking number and address)."""
    return _send(appointment, "booking-manage-link",
                 lambda: _("Ihr Link zum Termin: %(code)s", code=appointment.code),
                 "manage_link", manage_url=manage_url(appointment.code, manage_token))


def send_reminder(appointment: Appointment, manage_token: str | None) -> bool:
    """Reminder ``reminder_hours`` before: details and the manage link."""
    return _send(appointment, "booking-reminder",
                 lambda: _("Erinnerung an Ihren Termin: %(code)s", code=appointment.code),
                 "reminder", method="REQUEST",
                 manage_url=manage_url(appointment.code, manage_token) if manage_token else None)
