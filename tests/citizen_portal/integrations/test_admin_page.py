"""The admin page "API-Clients": role admin, CSRF, the secret shown once, webhooks with their delivery
log; in Chromium, axe-clean; plain forms (no JavaScript of their own), German and English."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiClient, WebhookSubscription
from citizen_portal.core.security import token_hash
from tests.factories import log_in_session, make_user


def test_only_admins_reach_the_page(app, client):
    assert client.get("/verwaltung/api-clients/").status_code == 302  # to the login
    staff = make_user("sachbearbeiter", roles="service_admin,poll_admin")
    with client.session_transaction() as session:
        log_in_session(session, staff)
    assert client.get("/verwaltung/api-clients/").status_code == 403
    assert client.post("/verwaltung/api-clients/", data={"name": "X", "scopes": "rooms.read"}).status_code == 403
    assert db.session.scalar(select(ApiClient)) is None


def test_bad_input_is_shown_again_and_changes_nothing(app, client):
    admin = make_user("chefin", roles="admin")
    with client.session_transaction() as session:
        log_in_session(session, admin)
    page = client.post("/verwaltung/api-clients/", data={"name": "", "scopes": ["everything"]},
                       headers={"Accept-Language": "en"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Please enter a name." in text or "This field is required." in text
    assert "New API client" in text and "No API clients yet." in text  # English
    assert db.session.scalar(select(ApiClient)) is None


@pytest.mark.browser
def test_an_admin_creates_a_client_and_a_webhook(live_server, page, assert_no_axe_violations):
    """The pages use plain forms only (no script of their own); axe needs JavaScript in the browser."""
    with live_server.app.app_context():
        make_user("chefin", roles="admin", password="Sehr-geheim-2026")
        db.session.commit()
    page.goto(live_server.url + "/anmelden")
    page.fill("#username", "chefin")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="API-Clients").click()
    page.wait_for_url(re.compile(r"/verwaltung/api-clients/$"))
    assert_no_axe_violations(page, "api clients, empty")

    page.get_by_role("button", name="Client anlegen").click()  # nothing chosen: shown again with messages
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, "api clients, errors")
    page.get_by_label("Name").fill("Fachverfahren Standesamt")
    page.get_by_label(re.compile("^appointments.read")).check()
    page.get_by_label(re.compile("^webhooks.manage")).check()
    page.get_by_role("button", name="Client anlegen").click()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    assert client_id.startswith("cli_") and secret.startswith("cs_")
    assert_no_axe_violations(page, "api client secret")
    with live_server.app.app_context():
        row = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        assert row.secret_hash == token_hash(secret) and row.scopes == ["appointments.read", "webhooks.manage"]
        db.session.remove()

    page.get_by_role("link", name="Zurück zu den API-Clients").click()
    assert secret not in page.content()  # shown once
    page.get_by_role("link", name="Fachverfahren Standesamt").click()
    assert_no_axe_violations(page, "api client detail")
    page.get_by_label("Adresse (https)").fill("http://hooks.example.org/x")
    page.get_by_label(re.compile("^appointment.booked")).check()
    page.get_by_role("button", name="Webhook anlegen").click()
    assert "Webhooks werden nur an https-Adressen gesendet." in page.content()
    page.get_by_label("Adresse (https)").fill("https://hooks.example.org/standesamt")
    page.get_by_role("button", name="Webhook anlegen").click()
    assert page.locator("#webhook-secret").inner_text().startswith("whsec_")
    assert_no_axe_violations(page, "webhook secret")
    page.get_by_role("link", name="Zurück zum Client").click()
    assert "https://hooks.example.org/standesamt" in page.content()
    with live_server.app.app_context():
        assert db.session.scalar(select(WebhookSubscription.event_types)) == ["appointment.booked"]
        db.session.remove()

    page.get_by_role("link", name="Zurück zu den API-Clients").click()
    page.get_by_role("button", name=re.compile("^Neues Secret")).click()
    rotated = page.locator("#client-secret").inner_text()
    assert rotated.startswith("cs_") and rotated != secret
    page.get_by_role("link", name="Zurück zu den API-Clients").click()
    page.get_by_role("button", name=re.compile("^Widerrufen")).click()
    assert "widerrufen" in page.locator("table").inner_text()
    assert_no_axe_violations(page, "api clients, revoked")
