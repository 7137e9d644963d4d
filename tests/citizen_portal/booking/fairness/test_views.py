"""The fair-access pages through the Flask client (captcha off here; the browser test and the
bench run it on): join → mail → confirm → position band → leave; an offer page books; the
lottery form; bad input answers 400 with the field messages in German and English, nothing stored."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.fairness.models import LEFT, WAITING, WaitingEntry
from citizen_portal.booking.models import CONFIRMED, Appointment
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.fairness.helpers import link_token, setup
from tests.factories import not_a_holiday
from tests.fixtures.mail import body_text

BERLIN = ZoneInfo("Europe/Berlin")


def a_week_ahead(hour: int) -> datetime:
    """09:00 local on a day a week from the real today (valid at 23:55, on DST days and 31 December)."""
    day = not_a_holiday(datetime.now(BERLIN).date() + timedelta(days=7), None)
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


def join_form(**fields):
    return {"name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": "1", **fields}


def test_join_confirm_status_and_leave_in_the_browser_flow(app, client, smtp_sink):
    _, service, _ = setup()
    page = client.get(f"/termine/warteliste/{service.key}/eintragen")
    assert page.status_code == 200 and "Auf die Warteliste" in page.text
    answer = client.post(f"/termine/warteliste/{service.key}/eintragen",
                         data=join_form(weekdays=["1", "3"], parts="morning"))
    assert answer.status_code == 200 and "Bitte prüfen Sie Ihr E-Mail-Postfach" in answer.text
    [mail] = smtp_sink.wait_for(1)
    entry_id, token = link_token(mail, "bestaetigen")
    assert client.get(f"/termine/warteliste/bestaetigen/{entry_id}?token={token}").headers["Referrer-Policy"] \
        == "no-referrer"
    confirmed = client.post(f"/termine/warteliste/bestaetigen/{entry_id}?token={token}", data={})
    assert confirmed.status_code == 303
    status = client.get(confirmed.headers["Location"])
    assert "Niemand steht vor Ihnen." in status.text and status.headers["Cache-Control"] == "no-store"
    entry = db.session.get(WaitingEntry, entry_id)
    assert entry.status == WAITING and entry.preferences["weekdays"] == [1, 3]
    manage = re.search(r"token=([\w-]+)", confirmed.headers["Location"]).group(1)
    left = client.post(f"/termine/warteliste/eintrag/{entry_id}/verlassen?token={manage}", data={})
    assert left.status_code == 200 and "verlassen" in left.text
    db.session.refresh(entry)
    assert entry.status == LEFT
    assert client.get(f"/termine/warteliste/eintrag/{entry_id}?token={manage}").status_code == 404


def test_bad_input_is_a_400_with_messages_in_german_and_english_and_nothing_stored(app, client):
    _, service, _ = setup()
    german = client.post(f"/termine/warteliste/{service.key}/eintragen",
                         data={"name": "", "email": "kein-mail", "weekdays": "9"})
    assert german.status_code == 400
    text = unescape(german.text)
    assert "E-Mail-Adresse wie name@beispiel.de" in text and "Datenschutzhinweise" in text
    english = client.post(f"/termine/warteliste/{service.key}/eintragen", data={"email": "no-mail"},
                          headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "email address like" in unescape(english.text)
    assert db.session.scalar(select(db.func.count(WaitingEntry.id))) == 0


def test_service_without_waiting_list_answers_409_and_when_full_points_to_booking(app, client):
    _, service, _ = setup(waiting_list="off")
    refused = client.post(f"/termine/warteliste/{service.key}/eintragen", data=join_form())
    assert refused.status_code == 409 and "keine Warteliste" in refused.text
    service.waiting_list = "when_full"
    db.session.commit()
    page = client.get(f"/termine/warteliste/{service.key}/eintragen")
    assert "Termin direkt buchen" in page.text


def offered_through_the_pages(client, smtp_sink, location, service, language: str = "de"):
    """Join and confirm through the pages, then someone else's 09:00 a week ahead is cancelled:
    the offer mail and its start."""
    client.post(f"/termine/warteliste/{service.key}/eintragen", data=join_form(),
                headers={"Accept-Language": language})
    entry_id, token = link_token(smtp_sink.wait_for(1)[0], "bestaetigen")
    client.post(f"/termine/warteliste/bestaetigen/{entry_id}?token={token}", data={})
    start = a_week_ahead(9)
    other = services.book(services.BookingRequest(service.key, location.key, start, contact(email="o@example.org")))
    smtp_sink.clear()
    services.cancel(other.appointment.code, other.manage_token)
    return next(m for m in smtp_sink.wait_for(2) if "/angebot/" in body_text(m)), start


def test_offer_page_books_the_time(app, client, smtp_sink):
    location, service, _ = setup()
    offer_mail, start = offered_through_the_pages(client, smtp_sink, location, service)
    offer_id, offer_token = link_token(offer_mail, "angebot")
    page = client.get(f"/termine/warteliste/angebot/{offer_id}?token={offer_token}")
    assert page.status_code == 200 and "Termin verbindlich buchen" in page.text
    booked = client.post(f"/termine/warteliste/angebot/{offer_id}?token={offer_token}", data={})
    assert booked.status_code == 303 and "/termine/gebucht/" in booked.headers["Location"]
    appointment = db.session.scalars(select(Appointment).where(Appointment.email == "erika@example.org")).one()
    assert appointment.status == CONFIRMED and appointment.start_at == start
    again = client.post(f"/termine/warteliste/angebot/{offer_id}?token={offer_token}", data={})
    assert again.status_code == 409
    assert client.get(f"/termine/warteliste/angebot/{offer_id}?token=wrong").status_code == 404


def test_days_page_links_the_waiting_list_and_the_lottery(app, client):
    location, service, _ = setup(release_days_ahead=14)
    page = client.get(f"/termine/{service.key}/{location.key}/")
    assert 'id="waiting-list-link"' in page.text and 'id="lottery-link"' in page.text
    lottery_page = client.get(f"/termine/warteliste/{service.key}/losung")
    assert lottery_page.status_code == 200 and "Verlosung" in lottery_page.text
