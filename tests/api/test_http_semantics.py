"""HTTP semantics of every ``/api/v1`` operation (``citizen_portal.core.api_http``): cursor pagination
with ``Link`` headers, ETag / If-None-Match → 304, If-Match on PATCH/DELETE → 412, the IETF
rate-limit fields and an integer ``Retry-After`` on 429."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from citizen_portal.core.extensions import db, limiter
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import build_app, make_location, make_service

BERLIN = ZoneInfo("Europe/Berlin")


def _next_link(response) -> str | None:
    header = response.headers.get("Link")
    if header is None:
        return None
    target, _, relation = header.partition(";")
    assert relation.strip() == 'rel="next"'
    return target.strip()[1:-1]


def test_lists_are_paged_by_an_opaque_cursor_in_the_link_header(client, app):
    location = make_location()
    for _ in range(5):
        make_service(locations=[location])
    everything = client.get("/api/v1/services").json["services"]
    assert len(everything) == 5 and "Link" not in client.get("/api/v1/services").headers
    seen, url, pages = [], "/api/v1/services?limit=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += response.json["services"]
        url, pages = _next_link(response), pages + 1
    assert pages == 3 and seen == everything


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "cursor=nonsense", "cursor=bzotMQ"])
def test_a_bad_cursor_or_limit_is_a_400_problem(client, app, query):
    response = client.get(f"/api/v1/services?{query}")
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert set(response.json["fields"]) & {"cursor", "limit"}


def _book(client, service, location, day, hour):
    start = datetime.combine(day, time(hour), tzinfo=BERLIN).isoformat()
    answer = client.post("/api/v1/appointments", json={
        "service": service.key, "location": location.key, "start": start, "name": "Erika Mustermann",
        "email": "erika@example.org", "privacy_consent": True})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_etag_if_none_match_and_if_match(client, app):
    location, service, _ = make_setup(holidays=None)
    day = date.today() + timedelta(days=3)
    booked = _book(client, service, location, day, 9)
    auth = {"Authorization": f"Bearer {booked['manage_token']}"}
    url = f"/api/v1/appointments/{booked['code']}"

    first = client.get(url, headers=auth)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag
    unchanged = client.get(url, headers={**auth, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""

    later = datetime.combine(day, time(10), tzinfo=BERLIN).isoformat()
    stale = client.patch(url, json={"start": later}, headers={**auth, "If-Match": '"not-the-tag"'})
    assert stale.status_code == 412 and stale.json["error"] == "precondition_failed"
    assert client.get(url, headers=auth).json["start"] == first.json["start"]  # nothing changed

    moved = client.patch(url, json={"start": later}, headers={**auth, "If-Match": tag})
    assert moved.status_code == 200 and moved.json["start"] == later
    assert client.get(url, headers={**auth, "If-None-Match": tag}).status_code == 200  # a new version
    assert client.delete(url, headers={**auth, "If-Match": tag}).status_code == 412  # the old tag
    new_tag = client.get(url, headers=auth).headers["ETag"]
    assert client.delete(url, headers={**auth, "If-Match": new_tag}).json["status"] == "cancelled"


def test_rate_limited_answers_carry_ratelimit_fields_and_an_integer_retry_after(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, RATELIMIT_ENABLED=True, BOOKING_RATE_LIMIT="2 per minute",
                    RATELIMIT_STORAGE_URI="memory://")
    try:
        client = app.test_client()
        answers = [client.post("/api/v1/appointments", json={}) for _ in range(3)]
        assert [a.status_code for a in answers] == [400, 400, 429]
        assert answers[0].headers["RateLimit-Policy"] == '"default";q=2'
        assert answers[1].headers["RateLimit"].startswith('"default";r=0;t=')
        limited = answers[2]
        assert limited.content_type == "application/problem+json" and limited.json["error"] == "rate_limited"
        assert limited.headers["Retry-After"].isdigit() and int(limited.headers["Retry-After"]) > 0
    finally:
        limiter.enabled = False  # the limiter is global: later tests' apps expect it off


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, app):
    location, service, _ = make_setup(holidays=None)
    day = date.today() + timedelta(days=3)
    body = {"service": service.key, "location": location.key, "name": "Erika Mustermann",
            "email": "erika@example.org", "privacy_consent": True,
            "start": datetime.combine(day, time(9), tzinfo=BERLIN).isoformat()}
    key = {"Idempotency-Key": "booking-7f3a"}
    first = client.post("/api/v1/appointments", json=body, headers=key)
    again = client.post("/api/v1/appointments", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/appointments", json={**body, "name": "Max Mustermann"}, headers=key)
    assert other.status_code == 422 and other.json["error"] == "idempotency_key_reused"
    without = client.post("/api/v1/appointments", json=body)  # no key: a second booking is tried
    assert without.status_code in (201, 409) and without.json != first.json
    assert client.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "with space"}).status_code == 400


def test_idempotency_keys_are_scoped_per_principal_and_expire(client, app):
    from citizen_portal.core import idempotency
    from citizen_portal.core.models import IdempotentAnswer

    location, service, _ = make_setup(holidays=None)
    day = date.today() + timedelta(days=3)
    body = {"service": service.key, "location": location.key, "name": "Erika Mustermann",
            "email": "erika@example.org", "privacy_consent": True,
            "start": datetime.combine(day, time(9), tzinfo=BERLIN).isoformat()}
    first = client.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "k1"})
    elsewhere = client.post("/api/v1/appointments", json={**body, "name": "Max"},
                            headers={"Idempotency-Key": "k1"}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert first.status_code == 201 and elsewhere.status_code == 409  # another principal: not a replay
    row = db.session.query(IdempotentAnswer).filter_by(key="k1", principal="address:127.0.0.1").one()
    assert idempotency.purge(now=row.created_at + timedelta(hours=23)) == 0
    assert db.session.query(IdempotentAnswer).count() == 1  # an error answer is not kept
    assert idempotency.purge(now=row.created_at + timedelta(hours=24, seconds=1)) == 1
