"""JSON API contract (issue 4 item 10) and its error cases: always JSON, never 500."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.citizen_portal.booking.factories import make_setup

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def setup(app):
    location, service, staff = make_setup(holidays=None)
    day = date.today() + timedelta(days=3)
    return location, service, staff, day


def start_at(day: date, hh: int, mm: int = 0) -> str:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN).isoformat()


def body(service, location, start, **kw):
    values = {"service": service.key, "location": location.key, "start": start, "name": "Erika Mustermann",
              "email": "erika@example.org", "privacy_consent": True}
    values.update(kw)
    return values


def test_services_list(client, setup):
    location, service, _, _ = setup
    answer = client.get("/api/v1/services", headers={"Accept-Language": "en"}).json
    [entry] = [s for s in answer["services"] if s["key"] == service.key]
    assert entry == {"key": service.key, "name": service.name["en"], "duration_minutes": 30,
                     "locations": [location.key]}


def test_slots_with_offsets(client, setup):
    location, service, _, day = setup
    answer = client.get(f"/api/v1/services/{service.key}/slots?from={day}&to={day}&location={location.key}")
    assert answer.status_code == 200
    first = answer.json["slots"][0]
    assert first == {"start": start_at(day, 8), "end": start_at(day, 8, 30), "location": location.key}
    assert first["start"][-6:] in {"+01:00", "+02:00"}


@pytest.mark.parametrize("query, status", [
    ("from=2026-01-01&to=2026-03-05", 400),     # 64 days
    ("from=2026-02-30&to=2026-03-01", 400),     # impossible date
    ("from=yesterday&to=2026-03-01", 400),
    ("to=2026-03-01", 400),
    ("from=2026-03-05&to=2026-03-01", 400),     # reversed
    ("from=2026-03-01&to=2026-03-02&foo=1", 400),
    ("from=2026-03-01&to=2026-03-02&location=nowhere", 404),
])
def test_slots_errors(client, setup, query, status):
    _, service, _, _ = setup
    answer = client.get(f"/api/v1/services/{service.key}/slots?{query}")
    assert answer.status_code == status
    assert answer.json["error"] and answer.json["detail"]


def test_slots_unknown_service(client, setup):
    answer = client.get("/api/v1/services/nope/slots?from=2026-03-01&to=2026-03-02")
    assert answer.status_code == 404 and answer.json["error"] == "not_found"


def test_book_show_move_cancel(client, setup):
    location, service, _, day = setup
    created = client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9)))
    assert created.status_code == 201, created.json
    data = created.json
    assert set(data) == {"code", "status", "service", "location", "start", "end", "manage_token"}
    assert data["status"] == "confirmed" and data["start"] == start_at(day, 9)
    auth = {"Authorization": f"Bearer {data['manage_token']}"}
    shown = client.get(f"/api/v1/appointments/{data['code']}", headers=auth)
    assert shown.status_code == 200 and shown.json["code"] == data["code"] and "manage_token" not in shown.json
    moved = client.patch(f"/api/v1/appointments/{data['code']}", json={"start": start_at(day, 10)}, headers=auth)
    assert moved.status_code == 200 and moved.json["start"] == start_at(day, 10)
    cancelled = client.delete(f"/api/v1/appointments/{data['code']}", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


def test_taken_slot_is_409_with_alternatives(client, setup):
    location, service, _, day = setup
    assert client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9))).status_code == 201
    second = client.post("/api/v1/appointments",
                         json=body(service, location, start_at(day, 9), email="max@example.org"))
    assert second.status_code == 409
    assert second.json["error"] == "slot_taken" and second.json["detail"]
    assert second.json["alternatives"][0] == {"start": start_at(day, 9, 30), "end": start_at(day, 10),
                                              "location": location.key}


@pytest.mark.parametrize("payload", [
    {"unknown": 1},
    {"privacy_consent": "vielleicht"},
    {"name": 42},
    {"start": "2026-03-03T09:00:00"},          # no offset
    {"start": "2026-02-30T09:00:00+01:00"},    # impossible date
    {"start": 12},
    {"email": "nope"},
    {"privacy_consent": False},
])
def test_booking_input_errors(client, setup, payload):
    location, service, _, day = setup
    values = body(service, location, start_at(day, 9))
    values.update(payload)
    answer = client.post("/api/v1/appointments", json=values)
    assert answer.status_code == 400, answer.json
    assert answer.json["error"] == "invalid" and answer.json["fields"]


@pytest.mark.parametrize("kwargs, status", [
    ({"data": "{not json", "content_type": "application/json"}, 400),
    ({"data": "[1, 2]", "content_type": "application/json"}, 400),
    ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, 400),
    ({"data": "x" * 300_000, "content_type": "application/json"}, 413),
])
def test_booking_body_errors(client, setup, kwargs, status):
    answer = client.post("/api/v1/appointments", **kwargs)
    assert answer.status_code == status
    assert answer.is_json and answer.json["error"]


def test_manage_endpoints_need_the_token(client, setup):
    location, service, _, day = setup
    data = client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9))).json
    assert client.get(f"/api/v1/appointments/{data['code']}").status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert client.get(f"/api/v1/appointments/{data['code']}", headers=wrong).status_code == 404
    assert client.delete(f"/api/v1/appointments/{data['code']}", headers=wrong).status_code == 404
    auth = {"Authorization": f"Bearer {data['manage_token']}"}
    assert client.patch(f"/api/v1/appointments/{data['code']}", json={"begin": "x"}, headers=auth).status_code == 400
    assert client.patch(f"/api/v1/appointments/{data['code']}", json={"start": start_at(day, 9, 7)},
                        headers=auth).status_code == 400


def test_api_works_with_csrf_on(app, setup):
    location, service, _, day = setup
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        answer = app.test_client().post("/api/v1/appointments", json=body(service, location, start_at(day, 9)))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answer.status_code == 201
