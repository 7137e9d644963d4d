"""Issue 18.2 (appointment hoarding) and the booking parts of 18.12.

The attack: the no-JavaScript waiting token was bound to nothing, so a client harvested tokens in
bulk, waited once, and each submission made a 15-minute hold: one client kept ~300 staff slots held.
Now a token belongs to its form and browser session and is used once; living holds are limited per
address, per session and per client address bucket (counted in the database, so every process sees
the same number); a challenge solved for one form is refused at another; the proof of work costs
more while many appointments are being made. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from citizen_portal.booking import services
from citizen_portal.booking.models import CONFIRMED, PENDING, Appointment, StaffMember
from citizen_portal.booking.services.holds import address_bucket
from citizen_portal.core import captcha
from citizen_portal.core.errors import Conflict
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from tests.citizen_portal.booking.factories import contact, make_appointment, make_setup
from tests.factories import not_a_holiday


@pytest.fixture
def site(app):
    location, service, _ = make_setup(staff_count=3, holidays=None, service_kw={"max_active_per_email": 5})
    app.config.update(CAPTCHA="on", CAPTCHA_WAIT_SECONDS=0, CAPTCHA_KEY_PREFIX="0",
                      BOOKING_HOLDS_PER_SESSION=2, BOOKING_HOLDS_PER_CLIENT=3, BOOKING_HOLDS_PER_EMAIL=2)
    yield location, service
    app.config.update(CAPTCHA="off", CAPTCHA_WAIT_SECONDS=15, CAPTCHA_KEY_PREFIX="0000",
                      BOOKING_HOLDS_PER_SESSION=2, BOOKING_HOLDS_PER_CLIENT=10, BOOKING_HOLDS_PER_EMAIL=2)


def start_at(days: int, hour: int) -> datetime:
    day = not_a_holiday(date.today() + timedelta(days=days))
    return datetime.combine(day, time(hour), tzinfo=site_timezone())


def form_url(site, start: datetime) -> str:
    location, service = site
    return f"/termine/{service.key}/{location.key}/buchen?start={quote(start.isoformat())}"


def harvest(client, url: str) -> str:
    """What a bot does: load the form, keep the no-JavaScript waiting token."""
    return re.search(r'name="altcha_wait" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def submit(client, url: str, start: datetime, token: str, email: str):
    return client.post(url, data={"name": "Bot", "email": email, "privacy_consent": "1",
                                  "start": start.isoformat(), "altcha_wait": token})


def holds() -> int:
    return db.session.scalar(select(func.count(Appointment.id)).where(Appointment.status == PENDING))


def test_harvested_waiting_tokens_hold_no_more_than_the_limits(app, site):
    bot = app.test_client()
    times = [start_at(3 + index // 4, 8 + index % 4) for index in range(8)]
    urls = [form_url(site, start) for start in times]
    tokens = [harvest(bot, url) for url in urls]  # bulk harvest in one session, one wait covers all

    answers = [submit(bot, url, start, token, f"bot{index}@example.org")
               for index, (url, start, token) in enumerate(zip(urls, times, tokens, strict=True))]
    assert [answer.status_code for answer in answers] == [303, 303] + [409] * 6
    assert "zu viele Reservierungen" in unescape(answers[2].get_data(as_text=True))
    assert holds() == 2

    # new sessions (a bot without cookies) from the same address: the client bucket stops them
    fresh = app.test_client()
    url, start = urls[2], times[2]
    assert submit(fresh, url, start, harvest(fresh, url), "bot-a@example.org").status_code == 303
    fresh = app.test_client()
    url, start = urls[3], times[3]
    refused = submit(fresh, url, start, harvest(fresh, url), "bot-b@example.org")
    assert refused.status_code == 409 and "zu viele Reservierungen" in unescape(refused.get_data(as_text=True))
    assert holds() == 3

    # a token harvested in one session is worthless in another
    thief = app.test_client()
    stolen = submit(thief, urls[4], times[4], tokens[4], "thief@example.org")
    assert stolen.status_code == 400 and "fehlgeschlagen" in unescape(stolen.get_data(as_text=True))

    # another household is not affected
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "2001:db8:1:2::7"
    url, start = urls[5], times[5]
    assert submit(neighbour, url, start, harvest(neighbour, url), "nachbar@example.org").status_code == 303
    assert holds() == 4


def test_holds_per_normalised_address(app, site):
    location, service = site
    service.email_confirmation = True
    db.session.commit()
    now = datetime.now(UTC)
    for index, email in enumerate(["erika+a@example.org", "Erika@Example.org"]):
        services.book(services.BookingRequest(service.key, location.key, start_at(3, 8 + index),
                                              contact(email=email)), now=now)
    with pytest.raises(Conflict) as error:
        services.book(services.BookingRequest(service.key, location.key, start_at(3, 10),
                                              contact(email="erika+c@example.org")), now=now)
    assert error.value.code == "hold_limit" and "email" in error.value.fields
    assert holds() == 2
    # a hold that ran out no longer counts
    services.book(services.BookingRequest(service.key, location.key, start_at(3, 10),
                                          contact(email="erika+c@example.org")), now=now + timedelta(hours=1))


def test_a_consumed_waiting_token_is_never_rendered_again(app, site):
    """18.12: a no-JavaScript form that comes back with an error carries a fresh token."""
    browser = app.test_client()
    start = start_at(3, 9)
    url = form_url(site, start)
    token = harvest(browser, url)
    wrong = browser.post(url, data={"name": "", "email": "erika@example.org", "privacy_consent": "1",
                                    "start": start.isoformat(), "altcha_wait": token})
    assert wrong.status_code == 400
    page = wrong.get_data(as_text=True)
    fresh = re.search(r'name="altcha_wait" value="([^"]+)"', page).group(1)
    assert fresh != token and token not in page
    assert submit(browser, url, start, fresh, "erika@example.org").status_code == 303


def test_a_challenge_belongs_to_the_form_it_was_issued_for(app, client, site):
    """18.12: a solution for the booking form of one time is refused at another form and at the API;
    the API's solution is refused at the form."""
    location, service = site
    first, other = start_at(3, 9), start_at(3, 10)
    raw = client.get(form_url(site, first)).get_data(as_text=True)
    form_challenge = json.loads(unescape(re.search(r'challenge="([^"]+)"', raw).group(1)))

    def post_form(start: datetime, payload: str):
        return client.post(form_url(site, start), data={"name": "Erika", "email": "erika@example.org",
                                                        "privacy_consent": "1", "start": start.isoformat(),
                                                        "altcha": payload})

    def post_api(payload: str):
        return client.post("/api/v1/appointments", json={
            "service": service.key, "location": location.key, "start": other.isoformat(), "name": "Erika",
            "email": "erika@example.org", "privacy_consent": True, "altcha": payload})

    assert post_form(other, captcha.solve_for_tests(form_challenge)).status_code == 400
    assert post_api(captcha.solve_for_tests(form_challenge)).status_code == 400
    api_challenge = client.get("/api/v1/captcha/challenge").json
    assert post_form(first, captcha.solve_for_tests(api_challenge)).status_code == 400
    assert db.session.scalar(select(func.count(Appointment.id))) == 0
    assert post_form(first, captcha.solve_for_tests(form_challenge)).status_code == 303


def test_proof_of_work_costs_more_under_load(app, client, site):
    location, service = site
    app.config.update(CAPTCHA_COST=1, CAPTCHA_LOAD_STEP=2, CAPTCHA_COST_MAX_FACTOR=4)
    try:
        member = db.session.scalars(select(StaffMember)).first()
        now = datetime.now(UTC)
        assert services.proof_of_work_cost(now=now) == 1
        assert client.get("/api/v1/captcha/challenge").json["parameters"]["cost"] == 1
        for index in range(4):
            make_appointment(service, location, member, start_at(5, 8) + timedelta(minutes=30 * index),
                             status=CONFIRMED, created_at=now - timedelta(minutes=1))
        assert services.proof_of_work_cost(now=now) == 4  # 4 recent: doubled twice
        make_appointment(service, location, member, start_at(6, 8), created_at=now - timedelta(minutes=1))
        make_appointment(service, location, member, start_at(6, 9), created_at=now - timedelta(minutes=1))
        assert services.proof_of_work_cost(now=now) == 4  # capped at CAPTCHA_COST_MAX_FACTOR
        assert services.proof_of_work_cost(now=now + timedelta(minutes=11)) == 1  # the rush is over
        raw = client.get(form_url(site, start_at(3, 9))).get_data(as_text=True)
        assert json.loads(unescape(re.search(r'challenge="([^"]+)"', raw).group(1)))["parameters"]["cost"] == 4
        assert client.get("/api/v1/captcha/challenge").json["parameters"]["cost"] == 4
    finally:
        app.config.update(CAPTCHA_COST=1, CAPTCHA_LOAD_STEP=25, CAPTCHA_COST_MAX_FACTOR=16)


def test_address_buckets():
    assert address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_bucket("2001:db8:1:2:aaaa::1") == address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:3::1") != address_bucket("2001:db8:1:2::1")
    assert address_bucket(None) is None and address_bucket("nonsense") is None
