"""Never a dead end and complete confirmations (issue 17, items 1 and 2), through the HTML views and
a real SMTP sink: the manage link by booking number + e-mail (nothing revealed, rate-limited), a new
confirmation link for a pending hold, the calendar download, the office facts, the mail headers and
the office contact on error pages."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import quote

import icalendar
import pytest
from sqlalchemy import select

from citizen_portal.booking import services as booking
from citizen_portal.booking.models import CONFIRMED, Appointment
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.test_views import VALID, book_url, future_day, setup, slot_start, text
from tests.factories import build_app
from tests.fixtures.mail import body_text

__all__ = ["setup"]  # the fixture, imported

CONTACT = {"phone": "+49 7971 123-0", "email": "buergerservice@musterhausen.example"}


@pytest.fixture
def office(setup):
    """The site's contact and the location's and service's facts from the site file."""
    site = db.session.scalars(select(SiteSettings)).first()
    if site is None:
        site = SiteSettings(name="Stadt Musterhausen", timezone="Europe/Berlin", settings={})
        db.session.add(site)
    site.name, site.settings = "Stadt Musterhausen", {**(site.settings or {}), "contact": dict(CONTACT)}
    setup["location"].info = {"phone": "+49 7971 123-100",
                              "step_free": {"de": "Rampe am Seiteneingang", "en": "Ramp at the side entrance"},
                              "payment": {"de": "Girocard oder Kreditkarte", "en": "Debit or credit card"}}
    setup["service"].info = {"fees": {"de": "37,00 Euro", "en": "EUR 37.00"}}
    db.session.commit()
    return setup


def _book(client, language: str = "de") -> tuple[Appointment, str]:
    """Book through the form; the appointment and the manage token from the redirect."""
    client.set_cookie("lang", language)
    start = slot_start(future_day(4), 10)
    response = client.post(book_url(start), data={**VALID, "start": start.isoformat()})
    assert response.status_code == 303, text(response)
    code, token = re.search(r"/termine/gebucht/([^?]+)\?token=(.+)$", response.headers["Location"]).groups()
    return db.session.scalars(select(Appointment).where(Appointment.code == code)).one(), token


def test_lookup_sends_the_link_only_to_the_booking_address_and_tells_nothing(client, office, smtp_sink):
    appointment, token = _book(client)
    smtp_sink.wait_for(1)
    smtp_sink.clear()
    answers = []
    for code, email in [(appointment.code.lower().replace("-", ""), "Erika@Example.org"),  # typed loosely
                        (appointment.code, "mallory@example.org"), ("ZZZ-ZZZ", "erika@example.org")]:
        response = client.post("/termine/verwalten/", data={"code": code, "email": email})
        assert response.status_code == 200
        answers.append(re.sub(r'name="csrf_token" value="[^"]*"', "", text(response)))
    assert answers[0] == answers[1] == answers[2]  # the page reveals nothing
    assert "Wenn es zu dieser Buchungsnummer einen Termin" in answers[0]
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "erika@example.org"
    assert f"/termine/verwalten/{appointment.code}?token={token}" in body_text(message)
    time.sleep(0.3)
    assert len(smtp_sink.messages) == 1  # the wrong address and the unknown number got nothing


def test_lookup_names_every_missing_field_at_once(client, office):
    response = client.post("/termine/verwalten/", data={"code": "", "email": "kein-at"})
    page = text(response)
    assert response.status_code == 400
    assert "Bitte korrigieren Sie 2 Angaben:" in page
    assert "Bitte geben Sie Ihre Buchungsnummer an." in page and 'href="#field-email"' in page


def test_lookup_is_rate_limited(fresh_database_url, tmp_path):
    """Rate limits on (a separate app, as in production): the fourth request within a minute is refused."""
    limited = build_app(fresh_database_url, tmp_path / "limited", RATELIMIT_ENABLED=True)
    with limited.app_context():
        client = limited.test_client()
        statuses = [client.post("/termine/verwalten/", data={"code": "ZZZ-ZZZ", "email": "a@example.org"}).status_code
                    for _ in range(4)]
        db.engine.dispose()
    assert statuses == [200, 200, 200, 429]


def test_pending_hold_gets_a_new_confirmation_link(client, office, smtp_sink):
    office["service"].email_confirmation = True
    db.session.commit()
    appointment, token = _book(client)
    [first] = smtp_sink.wait_for(1)
    old_link = re.search(r"(/termine/bestaetigen/\S+)", body_text(first)).group(1)
    page = text(client.get(f"/termine/gebucht/{appointment.code}?token={token}"))
    assert "Mail nicht erhalten?" in page and "Erneut senden" in page
    response = client.post(f"/termine/gebucht/{appointment.code}/erneut-senden?token={quote(token)}")
    assert response.status_code == 303
    assert "erneut geschickt" in text(client.get(response.headers["Location"]))
    second = smtp_sink.wait_for(2)[1]
    new_link = re.search(r"(/termine/bestaetigen/\S+)", body_text(second)).group(1)
    assert new_link != old_link
    assert client.get(old_link).status_code == 404  # the replaced link no longer works
    confirm_page = text(client.get(new_link))
    assert "Personalausweis beantragen" in confirm_page and "Marktplatz 1" in confirm_page  # what is confirmed
    assert client.post(new_link).status_code == 303
    db.session.refresh(appointment)
    assert appointment.status == CONFIRMED
    # confirmed: nothing left to resend
    again = client.post(f"/termine/gebucht/{appointment.code}/erneut-senden?token={quote(token)}")
    assert again.status_code == 303 and "/termine/verwalten/" in again.headers["Location"]


def test_booked_page_and_mail_carry_the_office_facts(client, office, smtp_sink):
    appointment, token = _book(client)
    page = text(client.get(f"/termine/gebucht/{appointment.code}?token={token}"))
    assert "In den Kalender eintragen" in page and f"/termine/kalender/{appointment.code}.ics?token=" in page
    assert "https://www.openstreetmap.org/search?query=Marktplatz%201" in page and "<iframe" not in page
    for fact in ("+49 7971 123-100", "Rampe am Seiteneingang", "37,00 Euro", "Girocard oder Kreditkarte",
                 "Biometrisches Foto"):
        assert fact in page, fact
    [message] = smtp_sink.wait_for(1)
    body = body_text(message).replace("\r\n", "\n")
    for fact in ("+49 7971 123-100", "Rampe am Seiteneingang", "37,00 Euro", "Girocard", "openstreetmap.org",
                 "Leistung: Personalausweis beantragen", "Buchungsnummer: "):
        assert fact in body, fact
    assert body.startswith("Guten Tag Erika Mustermann,\n\n")
    assert message["Reply-To"] == CONTACT["email"], message.keys()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "de"
    assert message["From"].startswith("Stadt Musterhausen – Terminvergabe <")


def test_english_mail_headers_and_sender_name(client, office, smtp_sink):
    _book(client, "en")
    [message] = smtp_sink.wait_for(1)
    assert message["Content-Language"] == "en"
    assert message["From"].startswith("Stadt Musterhausen – Appointments <")
    body = body_text(message).replace("\r\n", "\n")
    assert body.startswith("Hello Erika Mustermann,\n\n")
    assert re.search(r"\b\d{2}:\d{2} to \d{2}:\d{2}\b", body) and " PM" not in body and " AM" not in body


def test_calendar_download_has_description_url_and_alarm(client, office, smtp_sink):
    appointment, token = _book(client)
    response = client.get(f"/termine/kalender/{appointment.code}.ics?token={quote(token)}")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    calendar = icalendar.Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    description = str(event["DESCRIPTION"])
    assert "Biometrisches Foto" in description and f"/termine/verwalten/{appointment.code}?token=" in description
    assert str(event["URL"]).endswith(f"/termine/verwalten/{appointment.code}?token={quote(token)}")
    [alarm] = event.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY" and alarm["TRIGGER"].dt.total_seconds() == -3600
    # the mail's invitation carries the same
    [message] = smtp_sink.wait_for(1)
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    invitation = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    [mailed] = invitation.walk("VEVENT")
    assert "Biometrisches Foto" in str(mailed["DESCRIPTION"]) and mailed["URL"] == event["URL"]
    assert client.get(f"/termine/kalender/{appointment.code}.ics?token=falsch").status_code == 404


def test_error_pages_show_the_office_contact_and_the_way_out(client, office):
    for language, phrase in (("de", "So erreichen Sie uns"), ("en", "How to reach us")):
        client.set_cookie("lang", language)
        response = client.get("/termine/verwalten/ABC-DEF?token=abgelaufen")
        page = text(response)
        assert response.status_code == 404
        assert phrase in page
        assert CONTACT["phone"] in page and f"mailto:{CONTACT['email']}" in page
        assert 'href="/termine/verwalten/"' in page
    assert CONTACT["phone"] in text(client.get("/gibt-es-nicht"))


def test_service_layer_lookup_is_silent(app, office, smtp_sink):
    start = slot_start(future_day(6), 9)
    result = booking.book(booking.BookingRequest("ausweis", "buergeramt", start, contact(), language="de"),
                          now=datetime.now(UTC))
    smtp_sink.wait_for(1)
    smtp_sink.clear()
    from citizen_portal.booking.services.recovery import send_manage_link
    assert send_manage_link(result.appointment.code, "someone@example.org") is None
    smtp_sink.assert_no_mail()
