"""ALTCHA captcha: challenge endpoint, verification, single use, on the booking API."""

from __future__ import annotations

import re

import pytest

from citizen_portal.core import captcha
from citizen_portal.core.errors import Invalid


@pytest.fixture
def captcha_on(app):
    app.config["CAPTCHA"] = "on"
    yield app
    app.config["CAPTCHA"] = "off"


def test_off_accepts_anything(app):
    captcha.verify(None)


def test_challenge_solve_verify_once(captcha_on, client):
    challenge = client.get("/api/v1/captcha/challenge").json
    assert challenge["parameters"]["algorithm"] == "SHA-256" and challenge["signature"]
    payload = captcha.solve_for_tests(challenge)
    captcha.verify(payload)
    with pytest.raises(Invalid) as error:
        captcha.verify(payload)
    assert "altcha" in error.value.fields


@pytest.mark.parametrize("payload", [None, "", "garbage", "eyJ9"])
def test_bad_payloads(captcha_on, payload):
    with pytest.raises(Invalid) as error:
        captcha.verify(payload)
    assert "altcha" in error.value.fields


def test_forged_challenge_is_refused(captcha_on):
    import altcha

    forged = altcha.create_challenge("SHA-256", 1, key_prefix="0", hmac_secret="other-secret")
    with pytest.raises(Invalid):
        captcha.verify(captcha.solve_for_tests(forged.to_dict()))


def test_booking_api_requires_captcha_when_on(captcha_on, client):
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from tests.citizen_portal.booking.factories import make_setup

    location, service, _ = make_setup(holidays=None)
    start = datetime.combine(date.today() + timedelta(days=3), time(9), tzinfo=ZoneInfo("Europe/Berlin"))
    body = {"service": service.key, "location": location.key, "start": start.isoformat(), "name": "Erika",
            "email": "erika@example.org", "privacy_consent": True}
    refused = client.post("/api/v1/appointments", json=body)
    assert refused.status_code == 400 and "altcha" in refused.json["fields"]
    body["altcha"] = captcha.solve_for_tests(client.get("/api/v1/captcha/challenge").json)
    assert client.post("/api/v1/appointments", json=body).status_code == 201


def test_captcha_include_renders_widget_and_noscript(app):
    from flask import render_template_string

    with app.test_request_context():
        html = render_template_string('{% include "_captcha.html" %}', captcha_challenge={"parameters": {}})
        assert "<altcha-widget" in html and "<noscript>" in html and re.search(r"altcha\.min\.([0-9a-f]+\.)?js", html)
        assert render_template_string('{% include "_captcha.html" %}', captcha_challenge=None).strip() == ""
