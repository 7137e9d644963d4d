"""Signed webhooks: subscriptions, the outbox written with the change, delivery by the worker's job to a
real receiver that verifies with the ``standardwebhooks`` package, retries, no redirects, redelivery."""

from __future__ import annotations

import base64
import itertools
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select
from standardwebhooks.webhooks import WebhookVerificationError

from citizen_portal.booking.models import Appointment
from citizen_portal.core import api_clients, locks, webhooks
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import registered_jobs
from citizen_portal.core.models import WebhookDelivery, WebhookEvent
from tests.citizen_portal.booking.test_parity import EVERY_DAY, VALID, at, the_day
from tests.factories import make_location, make_service, make_staff
from tests.fixtures.webhook_receiver import verify


@pytest.fixture
def loopback_http(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP_LOOPBACK", True)


def _access_token(client, scopes, **restrictions) -> tuple[str, api_clients.ClientSecret]:
    made = api_clients.create_client("Fachverfahren", scopes, **restrictions)
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                                 "client_secret": made.client_secret})
    return response.get_json()["access_token"], made


def _subscribe(client, token: str, url: str, types: list[str]) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": types},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _run_webhooks_job(app, now=None) -> None:
    """The worker's registered job (what ``flask worker`` runs every round)."""
    job = next(job for job in registered_jobs(app) if job.name == "webhooks")
    if now is None:
        job.run()
    else:
        webhooks.deliver_webhooks(now=now)
    db.session.commit()


def _emit(type_: str, data: dict, **kw) -> str:
    with write_transaction(locks.webhooks()):
        event = webhooks.emit_event(type_, data, **kw)
    return event.id


@pytest.fixture
def office(app):
    location = make_location("buergeramt", opening_hours=EVERY_DAY)
    service = make_service("ausweis", locations=[location], duration_minutes=30)
    make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
    return {"location": location, "service": service, "day": the_day()}


def test_a_web_booking_reaches_a_subscribed_receiver_signed(app, client, office, webhook_receiver, loopback_http):
    token, _made = _access_token(client, ["appointments.read", "webhooks.manage"])
    created = _subscribe(client, token, webhook_receiver.url, ["appointment.booked"])
    assert created["secret"].startswith("whsec_")
    webhook_receiver.secret = created["secret"]

    start = at(office["day"], 10)
    form = {**{k: v for k, v in VALID.items() if not isinstance(v, bool)}, "privacy_consent": "1",
            "start": start.isoformat()}
    page = client.post(f"/termine/ausweis/buergeramt/buchen?start={quote(start.isoformat())}", data=form)
    assert page.status_code in (200, 303)
    appointment = db.session.scalars(select(Appointment)).one()
    event = db.session.scalars(select(WebhookEvent)).one()  # written with the booking
    assert event.type == "appointment.booked"

    _run_webhooks_job(app)
    assert webhook_receiver.rejected == []
    [received] = webhook_receiver.accepted
    assert received["id"] == event.id
    body = received["body"]
    assert body["type"] == "appointment.booked"
    assert body["data"]["id"] == appointment.id and body["data"]["location"] == "buergeramt"
    assert body["data"]["start"] == webhooks.iso(start) and body["data"]["start"].endswith("Z")
    # no personal data without appointments.write
    assert "email" not in body["data"] and "name" not in body["data"]
    assert VALID["email"] not in str(body)


def test_personal_fields_only_with_the_write_scope_and_restrictions_apply(app, client, office, webhook_receiver,
                                                                         loopback_http):
    other = make_location("rathaus")
    token, _ = _access_token(client, ["appointments.write", "webhooks.manage"])
    webhook_receiver.secret = _subscribe(client, token, webhook_receiver.url, ["appointment.booked"])["secret"]
    restricted_token, _ = _access_token(client, ["appointments.read", "webhooks.manage"], location_ids=[other.id])
    _subscribe(client, restricted_token, webhook_receiver.url, ["appointment.booked"])

    from citizen_portal.booking import services as booking
    from citizen_portal.booking.schemas import Contact

    contact = Contact(name="Erika Mustermann", email="erika@example.org", phone=None, note=None, privacy_consent=True)
    booking.book(booking.BookingRequest("ausweis", "buergeramt", at(office["day"], 11), contact))
    deliveries = db.session.scalars(select(WebhookDelivery)).all()
    assert len(deliveries) == 1  # the client restricted to another location gets nothing
    _run_webhooks_job(app)
    [received] = webhook_receiver.accepted
    assert received["body"]["data"]["email"] == "erika@example.org"


def test_a_receiver_that_is_down_gets_every_event_exactly_once_afterwards(app, client, webhook_receiver,
                                                                         loopback_http):
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    webhook_receiver.secret = _subscribe(client, token, webhook_receiver.url, ["suggestion.status_changed"])["secret"]
    webhook_receiver.stop()
    ids = [_emit("suggestion.status_changed", {"id": n, "status": "planned", "previous_status": "received"})
           for n in range(3)]
    start = utcnow()
    _run_webhooks_job(app, now=start)
    deliveries = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.state for d in deliveries] == ["pending"] * 3
    assert all(d.attempts == 1 and d.last_status is None and d.next_attempt_at > start for d in deliveries)
    _run_webhooks_job(app, now=start + timedelta(seconds=5))  # not due yet: nothing is sent
    assert all(d.attempts == 1 for d in db.session.scalars(select(WebhookDelivery)))

    webhook_receiver.start()
    for minutes in (1, 2, 30, 90):  # the worker keeps running; every event arrives once
        _run_webhooks_job(app, now=start + timedelta(minutes=minutes))
    assert sorted(item["id"] for item in webhook_receiver.accepted) == sorted(ids)
    assert webhook_receiver.requests == 3 and webhook_receiver.rejected == []
    states = db.session.scalars(select(WebhookDelivery.state)).all()
    assert states == ["delivered"] * 3
    log = webhooks.attempts_of(d.id for d in db.session.scalars(select(WebhookDelivery)))
    assert all([a.status_code for a in attempts] == [None, 204] for attempts in log.values())


def test_retries_go_on_for_at_least_24_hours_then_give_up(app, client, webhook_receiver, loopback_http, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_HOURS", 1.0)  # below the floor: 24 h still hold
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    webhook_receiver.secret = _subscribe(client, token, webhook_receiver.url, ["poll.opened"])["secret"]
    webhook_receiver.answer = 500
    _emit("poll.opened", {"id": 1})
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    first = delivery.created_at
    moment = first
    while delivery.state == "pending":
        _run_webhooks_job(app, now=moment)
        db.session.refresh(delivery)
        moment = max(moment, delivery.next_attempt_at)
        assert delivery.state != "delivered"
    log = webhooks.attempts_of([delivery.id])[delivery.id]
    assert delivery.state == "failed" and log[-1].at - first >= timedelta(hours=24)
    assert all(a.status_code == 500 for a in log)
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
    assert gaps[:3] == [30.0, 60.0, 120.0] and max(gaps) == 3600.0  # doubling, at most an hour apart

    # manual redelivery through the API once the receiver is fixed
    webhook_receiver.answer = 200
    subscription_id = delivery.subscription_id
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post(f"/api/v1/webhooks/{subscription_id}/deliveries/{delivery.id}/redeliver", headers=headers)
    assert answer.status_code == 202 and answer.get_json()["state"] == "pending"
    _run_webhooks_job(app)
    db.session.refresh(delivery)
    assert delivery.state == "delivered"
    again = client.post(f"/api/v1/webhooks/{subscription_id}/deliveries/{delivery.id}/redeliver", headers=headers)
    assert again.status_code == 409  # never twice after a 2xx
    listed = client.get(f"/api/v1/webhooks/{subscription_id}/deliveries", headers=headers).get_json()
    assert listed["deliveries"][0]["attempts"][-1]["status_code"] == 200


def _signed(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": webhooks.sign(secret, msg_id, timestamp, body)}


def test_forged_and_replayed_deliveries_are_rejected_by_the_library(app, webhook_receiver):
    secret = webhooks.new_secret()
    body = b'{"type":"poll.opened","timestamp":"2026-12-07T09:00:00Z","data":{"id":1}}'
    now = int(time.time())
    good = _signed(secret, "msg_1", now, body)
    assert verify(secret, good, body)["data"]["id"] == 1
    forged = dict(good, **{"webhook-signature": webhooks.sign(webhooks.new_secret(), "msg_1", now, body)})
    with pytest.raises(WebhookVerificationError):
        verify(secret, forged, body)
    tampered = body.replace(b'"id":1', b'"id":2')
    with pytest.raises(WebhookVerificationError):
        verify(secret, good, tampered)
    old = now - 600  # a captured delivery replayed ten minutes later
    replayed = _signed(secret, "msg_1", old, body)
    with pytest.raises(WebhookVerificationError):
        verify(secret, replayed, body)
    # and the real receiver refuses them over HTTP
    webhook_receiver.secret = secret
    for headers in (forged, replayed):
        assert requests.post(webhook_receiver.url, data=body, headers=headers, timeout=5).status_code == 400
    assert len(webhook_receiver.rejected) == 2 and webhook_receiver.accepted == []


def test_redirects_are_not_followed(app, client, webhook_receiver, loopback_http):
    from tests.fixtures.webhook_receiver import Receiver

    elsewhere = Receiver().start()
    try:
        token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
        secret = _subscribe(client, token, webhook_receiver.url, ["poll.closed"])["secret"]
        webhook_receiver.secret = elsewhere.secret = secret
        webhook_receiver.redirect_to = elsewhere.url
        _emit("poll.closed", {"id": 3})
        _run_webhooks_job(app)
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert delivery.state == "pending" and delivery.last_status == 307
        assert elsewhere.requests == 0
    finally:
        elsewhere.stop()


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(app, client, webhook_receiver, loopback_http):
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    webhook_receiver.secret = _subscribe(client, token, webhook_receiver.url, ["poll.closed"])["secret"]
    _emit("poll.closed", {"id": 4})
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    now = utcnow()
    assert webhooks.delivery._claim(delivery.id, now) is not None  # worker A holds the lease
    assert webhooks.deliver(delivery.id, now=now + timedelta(seconds=10)) is False  # worker B
    assert webhook_receiver.requests == 0
    assert webhooks.deliver(delivery.id, now=now + timedelta(seconds=webhooks.LEASE_SECONDS + 1)) is True
    assert webhooks.deliver(delivery.id, now=now + timedelta(hours=1)) is False  # delivered: never again
    assert webhook_receiver.requests == 1


@pytest.mark.parametrize("url", ["http://example.org/hook", "ftp://127.0.0.1/x", "https://", "not a url",
                                 "https://user:pw@example.org/hook"])
def test_receivers_must_be_https(app, client, url):
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["poll.opened"]},
                           headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 400 and "url" in response.get_json()["fields"]
    assert db.session.scalar(select(WebhookDelivery)) is None


def test_http_to_loopback_only_when_allowed(app, client):
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    headers = {"Authorization": f"Bearer {token}"}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["poll.opened"]}
    assert client.post("/api/v1/webhooks", json=body, headers=headers).status_code == 400
    assert client.post("/api/v1/webhooks", json={**body, "url": "https://hooks.example.org/x"},
                       headers=headers).status_code == 201


def test_webhook_crud_is_per_client_and_needs_the_scope(app, client, loopback_http):
    token, _ = _access_token(client, ["rooms.read", "webhooks.manage"])
    other_token, _ = _access_token(client, ["rooms.read", "webhooks.manage"])
    headers = {"Authorization": f"Bearer {token}"}
    created = _subscribe(client, token, "https://hooks.example.org/rooms", ["room_booking.created"])
    assert client.post("/api/v1/webhooks", json={"url": "https://x.example.org", "event_types": ["poll.opened"]},
                       headers=headers).status_code == 400  # polls.read missing
    assert client.post("/api/v1/webhooks", json={"url": "https://x.example.org", "event_types": ["nope"]},
                       headers=headers).status_code == 400
    listed = client.get("/api/v1/webhooks", headers=headers).get_json()["webhooks"]
    assert [item["id"] for item in listed] == [created["id"]] and "secret" not in listed[0]
    path = f"/api/v1/webhooks/{created['id']}"
    assert client.get(path, headers={"Authorization": f"Bearer {other_token}"}).status_code == 404
    changed = client.patch(path, json={"active": False, "event_types": ["room_booking.cancelled"]}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["active"] is False and changed.get_json()["event_types"] == ["room_booking.cancelled"]
    types = client.get("/api/v1/webhooks/event-types", headers=headers).get_json()["event_types"]
    assert {"appointment.booked", "desk_booking.created", "room_booking.cancelled", "poll.opened", "poll.closed",
            "suggestion.status_changed", "calendar.sync_failed", "appointment.no_show"} <= {t["name"] for t in types}
    assert client.delete(path, headers={"Authorization": f"Bearer {other_token}"}).status_code == 404
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


def test_a_persons_token_has_no_webhooks(app, client):
    from citizen_portal.core.api_tokens import create_api_token
    from tests.factories import make_user

    make_user("chefin", roles="admin")
    token = create_api_token("chefin", "script")
    response = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_an_event_rolled_back_with_its_change_is_never_sent(app, client, webhook_receiver, loopback_http):
    token, _ = _access_token(client, ["polls.read", "webhooks.manage"])
    _subscribe(client, token, webhook_receiver.url, ["poll.opened"])
    with pytest.raises(RuntimeError), write_transaction(locks.webhooks()):
        webhooks.emit_event("poll.opened", {"id": 9})
        raise RuntimeError("the change failed")
    assert db.session.scalar(select(WebhookEvent)) is None and db.session.scalar(select(WebhookDelivery)) is None


def test_unregistered_event_types_are_a_bug(app):
    with pytest.raises(ValueError), write_transaction(locks.webhooks()):
        webhooks.emit_event("appointment.exploded", {})


def test_signatures_match_the_spec_example():
    """The example of the Standard Webhooks specification (its reference test vector)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert base64.b64decode(webhooks.new_secret().removeprefix("whsec_"))  # a valid key
