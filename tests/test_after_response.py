"""Mail after the response (issues 13, 15 and 17): through real gunicorn and a real SMTP relay that
takes its time, a booking is answered before its confirmation reaches the relay, and the manage-link
lookup does its work after the response, so it answers alike whether or not a booking matched; the
mail still arrives. And the courier: a failing task is logged by name and the next one still runs."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
import requests

from citizen_portal.core.after_response import after_response, wait_until_idle
from tests.citizen_portal.booking.test_race import seed
from tests.factories import not_a_holiday
from tests.fixtures.gunicorn import gunicorn_instance
from tests.fixtures.mail import SmtpSink
from tests.fixtures.patience import patience

RELAY_SECONDS = 4.0  # the relay answers DATA only after this long


@pytest.fixture
def slow_relay():
    sink = SmtpSink(accept_after_seconds=RELAY_SECONDS)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def served(fresh_database_url, tmp_path, slow_relay):
    """gunicorn (2 workers, delivery after the response: the default) on a seeded database."""
    instance = tmp_path / "instance"
    instance.mkdir()
    service, location, _ = seed(fresh_database_url, instance)
    keys = {"service": service, "location": location}
    relay = {key: str(value) for key, value in slow_relay.config.items()}
    with gunicorn_instance(fresh_database_url, instance, workers=2, RATELIMIT_ENABLED="false", **relay) as url:
        yield url, keys


def _book(url: str, keys: dict, hour: int) -> tuple[dict, float]:
    day = not_a_holiday(datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=7))
    start = datetime.combine(day, clock(hour, 0), tzinfo=ZoneInfo("Europe/Berlin"))
    began = time.monotonic()
    response = requests.post(f"{url}/api/v1/appointments", timeout=patience(30), json={
        **keys, "start": start.isoformat(), "name": "Erika Mustermann", "email": "erika@example.org",
        "privacy_consent": True})
    elapsed = time.monotonic() - began
    assert response.status_code == 201, response.text
    return response.json(), elapsed


def _lookup(url: str, code: str, email: str) -> float:
    session = requests.Session()
    form = session.get(f"{url}/termine/verwalten/", timeout=patience(30))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
    began = time.monotonic()
    answer = session.post(f"{url}/termine/verwalten/", timeout=patience(30),
                          data={"csrf_token": token, "code": code, "email": email})
    elapsed = time.monotonic() - began
    assert answer.status_code == 200, answer.text[:500]
    return elapsed


def test_a_booking_is_answered_before_its_mail_reaches_the_relay(served, slow_relay):
    url, keys = served
    booked, elapsed = _book(url, keys, 9)
    assert elapsed < RELAY_SECONDS, f"the booking waited {elapsed:.1f} s: the mail was delivered in the request"
    assert booked["status"] == "confirmed"
    [message] = slow_relay.wait_for(1, timeout=patience(30))
    assert booked["code"] in message["Subject"] or booked["code"] in message.get_body(("plain",)).get_content()


def test_the_lookup_answers_before_the_relay_whether_or_not_a_booking_matched(served, slow_relay):
    url, keys = served
    booked, _ = _book(url, keys, 10)
    slow_relay.wait_for(1, timeout=patience(30))
    slow_relay.clear()

    matched = _lookup(url, booked["code"], "erika@example.org")
    unmatched = _lookup(url, booked["code"], "someone.else@example.org")
    assert matched < RELAY_SECONDS and unmatched < RELAY_SECONDS, (matched, unmatched)
    [message] = slow_relay.wait_for(1, timeout=patience(30))  # only the matching lookup sends
    assert message["To"] == "erika@example.org"
    slow_relay.assert_no_mail_beyond(1, wait=RELAY_SECONDS + 1)


def test_a_failing_task_is_logged_by_name_and_the_next_one_runs(app, caplog):
    ran: list[int] = []

    def failing_task() -> None:
        raise RuntimeError("relay exploded")

    app.config["AFTER_RESPONSE_IN_BACKGROUND"] = True
    try:
        with app.test_request_context("/"):
            after_response(failing_task)
            after_response(ran.append, 1)
            assert ran == [], "ran inside the request"
            response = app.process_response(app.response_class("answer"))
        with caplog.at_level(logging.ERROR, logger="citizen_portal.core.after_response"):
            response.close()  # what the WSGI server does once the body is sent
            assert wait_until_idle(patience(10))
    finally:
        app.config["AFTER_RESPONSE_IN_BACKGROUND"] = False
    assert ran == [1]
    assert any("failing_task" in record.getMessage() for record in caplog.records)
    assert "RuntimeError" in caplog.text and "relay exploded" not in caplog.text  # no message, no traceback
