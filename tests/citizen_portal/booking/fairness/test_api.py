"""The fair-access operations of ``/api/v1`` (issue 15.4): join → confirm → status → leave, accept
an offer, release-window requests; bad input is a 400 problem with the same field messages as the
form, nothing stored. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from citizen_portal.booking import services
from citizen_portal.booking.fairness.models import ReleaseRequest, WaitingEntry
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.fairness.helpers import link_token, setup
from tests.citizen_portal.booking.fairness.test_views import a_week_ahead
from tests.fixtures.mail import body_text

BODY = {"name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True, "parts": ["morning"]}


def test_join_confirm_status_leave_and_accept_through_the_api(app, client, smtp_sink):
    location, service, _ = setup()
    answer = client.post(f"/api/v1/services/{service.key}/waiting-list", json=BODY)
    assert answer.status_code == 202 and answer.json == {"status": "confirmation_sent"}
    entry_id, token = link_token(smtp_sink.wait_for(1)[0], "bestaetigen")
    confirmed = client.post(f"/api/v1/waiting-list/{entry_id}/confirmation", json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json["status"] == "waiting"
    manage = confirmed.json["manage_token"]
    status = client.get(f"/api/v1/waiting-list/{entry_id}", headers={"Authorization": f"Bearer {manage}"})
    assert status.status_code == 200 and status.json["people_ahead"] == 0
    assert status.json["preferences"]["parts"] == ["morning"]
    assert client.get(f"/api/v1/waiting-list/{entry_id}", headers={"Authorization": "Bearer nope"}).status_code == 404

    other = services.book(services.BookingRequest(service.key, location.key, a_week_ahead(9),
                                                  contact(email="o@example.org")))
    smtp_sink.clear()
    services.cancel(other.appointment.code, other.manage_token)
    offer_mail = next(m for m in smtp_sink.wait_for(2) if "/angebot/" in body_text(m))
    offer_id, offer_token = link_token(offer_mail, "angebot")
    assert client.post(f"/api/v1/waiting-list/offers/{offer_id}/acceptance",
                       json={"token": "wrong"}).status_code == 404
    booked = client.post(f"/api/v1/waiting-list/offers/{offer_id}/acceptance", json={"token": offer_token})
    assert booked.status_code == 201 and booked.json["manage_token"] and booked.json["status"] == "confirmed"
    again = client.post(f"/api/v1/waiting-list/offers/{offer_id}/acceptance", json={"token": offer_token})
    assert again.status_code == 409 and again.json["error"] == "offer_closed"


def test_leave_through_the_api(app, client, smtp_sink):
    _, service, _ = setup()
    client.post(f"/api/v1/services/{service.key}/waiting-list", json=BODY)
    entry_id, token = link_token(smtp_sink.wait_for(1)[0], "bestaetigen")
    manage = client.post(f"/api/v1/waiting-list/{entry_id}/confirmation", json={"token": token}).json["manage_token"]
    left = client.delete(f"/api/v1/waiting-list/{entry_id}", headers={"Authorization": f"Bearer {manage}"}, json={})
    assert left.status_code == 200
    assert db.session.get(WaitingEntry, entry_id).status == "left"


def test_bad_input_is_a_problem_and_nothing_is_stored(app, client):
    _, service, _ = setup()
    answer = client.post(f"/api/v1/services/{service.key}/waiting-list",
                         json={"name": "A", "email": "kein-mail", "weekdays": [9]})
    assert answer.status_code == 400
    assert set(answer.json["fields"]) >= {"email", "privacy_consent"}
    english = client.post(f"/api/v1/services/{service.key}/waiting-list", json={"email": "x"},
                          headers={"Accept-Language": "en"})
    assert "email address like" in english.json["fields"]["email"]
    closed = client.post(f"/api/v1/services/{service.key}/release-requests", json=BODY)
    assert closed.status_code == 409 and closed.json["error"] == "window_closed"
    assert db.session.scalar(select(db.func.count(WaitingEntry.id))) == 0
    assert db.session.scalar(select(db.func.count(ReleaseRequest.id))) == 0
