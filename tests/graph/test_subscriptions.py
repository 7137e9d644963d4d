"""Graph change notifications (``/graph/v1.0/subscriptions``) in process, with a real HTTP receiver that
answers the validation handshake and verifies the Standard Webhooks signature of every delivery:
create / list / get / renew / delete, the handshake (failure → 400 ``ValidationError``, nothing stored),
the lifetime rules, the changeType filter, clientState in each notification, calendar changes through
Graph, a citizen's web booking (staff calendar and Bookings appointments), lifecycle notifications
(``reauthorizationRequired``, ``subscriptionRemoved``) and the permission and ownership checks."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from citizen_portal.core import api_clients, webhooks
from citizen_portal.core.database import utcnow
from citizen_portal.core.extensions import db
from citizen_portal.core.graph import MAX_LIFETIME_MINUTES, encode_id
from citizen_portal.core.graph.subscriptions import run_lifecycle
from citizen_portal.core.models import GraphSubscription, User
from citizen_portal.core.webhooks.graph import notify_graph_change
from tests.graph.helpers import BER, future_day, headers, staff_with_token, unreachable_calendar

STATE = "geheimer-Zustand-42"


@pytest.fixture
def loopback_http(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP_LOOPBACK", True)


@pytest.fixture
def office(app, loopback_http):
    """A staff member (service admin, so her token may also read Bookings) with a linked calendar."""
    location, service, staff, user, token = staff_with_token()
    unreachable_calendar(staff)
    return {"location": location, "service": service, "staff": staff, "user": user, "token": token}


def _expiry(minutes: int = 600) -> str:
    return (utcnow() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _subscribe(client, token, receiver, resource, *, change_type="created,updated,deleted", lifecycle=True,
               expect=201, **extra):
    body = {"changeType": change_type, "notificationUrl": receiver.url + "/notify", "resource": resource,
            "expirationDateTime": _expiry(), "clientState": STATE, **extra}
    if lifecycle:
        body["lifecycleNotificationUrl"] = receiver.url + "/lifecycle"
    response = client.post("/graph/v1.0/subscriptions", json=body, headers=headers(token))
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def _deliver(app, now=None) -> None:
    """The worker's job "webhooks" (at ``now``: what was queued for a later moment is due then)."""
    webhooks.deliver_webhooks(now=now)
    db.session.commit()


def _notifications(receiver, path="/hooks/notify") -> list[dict]:
    return [item for message in receiver.accepted if message["path"] == path for item in message["body"]["value"]]


def _event(client, token, staff, day, hour, subject="Abstimmung"):
    response = client.post(f"/graph/v1.0/users/{staff.email}/events", headers=headers(token), json={
        "subject": subject, "start": {"dateTime": f"{day.date()}T{hour:02d}:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day.date()}T{hour:02d}:30:00", "timeZone": "Europe/Berlin"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_subscribe_handshake_and_notifications_of_graph_changes(app, client, office, webhook_receiver):
    staff, token = office["staff"], office["token"]
    made = _subscribe(client, token, webhook_receiver, f"/users/{staff.email}/events", change_type="created,deleted")
    webhook_receiver.secret = made["municipal.webhookSecret"]
    assert made["clientState"] == STATE and made["changeType"] == "created,deleted"
    assert made["resource"] == f"/users/{staff.email}/events" and "/" not in made["id"]
    # the handshake: both URLs, the token as text/plain
    assert [v["path"] for v in webhook_receiver.validations] == ["/hooks/notify", "/hooks/lifecycle"]
    assert all(v["content-type"].startswith("text/plain") for v in webhook_receiver.validations)

    day = future_day(5)
    created = _event(client, token, staff, day, 9)
    patched = client.patch(f"/graph/v1.0/users/{staff.email}/events/{created['id']}", headers=headers(token),
                           json={"subject": "Neu"})
    assert patched.status_code == 200
    assert client.delete(f"/graph/v1.0/users/{staff.email}/events/{created['id']}",
                         headers=headers(token)).status_code == 204
    _deliver(app)
    assert webhook_receiver.rejected == []  # every delivery carries a valid Standard Webhooks signature
    got = _notifications(webhook_receiver)
    assert [n["changeType"] for n in got] == ["created", "deleted"]  # "updated" was not subscribed
    first = got[0]
    assert first["clientState"] == STATE and first["subscriptionId"] == made["id"]
    assert first["resource"] == f"Users/staff-{staff.key}/Events/{created['id']}"
    assert first["resourceData"] == {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": first["resource"],
                                     "id": created["id"]}
    assert first["tenantId"] and first["subscriptionExpirationDateTime"].endswith("Z")


def test_a_citizens_web_booking_notifies_the_calendar_and_the_bookings_subscriptions(app, client, office,
                                                                                     webhook_receiver):
    location, service, staff, token = office["location"], office["service"], office["staff"], office["token"]
    events = _subscribe(client, token, webhook_receiver, f"users/staff-{staff.key}/events", lifecycle=False)
    appointments = _subscribe(client, token, webhook_receiver,
                              f"solutions/bookingBusinesses/{location.key}/appointments", lifecycle=False)
    assert events["municipal.webhookSecret"] != appointments["municipal.webhookSecret"]
    day = future_day(4)
    booked = client.post("/api/v1/appointments", json={
        "service": service.key, "location": location.key,
        "start": datetime.combine(day.date(), time(9), tzinfo=BER).isoformat(),
        "name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True})
    assert booked.status_code == 201, booked.get_json()
    code = booked.get_json()["code"]
    webhook_receiver.secrets = [s["municipal.webhookSecret"] for s in (events, appointments)]
    _deliver(app)
    assert webhook_receiver.rejected == []
    by_subscription = {n["subscriptionId"]: n for n in _notifications(webhook_receiver)}
    assert set(by_subscription) == {events["id"], appointments["id"]}
    booking = by_subscription[appointments["id"]]
    assert booking["changeType"] == "created" and booking["clientState"] == STATE
    assert booking["resource"] == f"solutions/bookingBusinesses/{location.key}/appointments/{code}"
    assert booking["resourceData"]["@odata.type"] == "#microsoft.graph.bookingAppointment"
    calendar_item = by_subscription[events["id"]]
    assert calendar_item["changeType"] == "created"
    read = client.get(f"/graph/v1.0/users/{staff.email}/events/{calendar_item['resourceData']['id']}",
                      headers=headers(token))
    assert read.status_code == 200 and code in read.get_json()["subject"]


def test_failed_handshake_is_400_validation_error_and_nothing_is_stored(app, client, office, webhook_receiver):
    resource = f"/users/{office['staff'].email}/events"
    for answer in ("wrong", 500):
        webhook_receiver.validation_answer = answer
        error = _subscribe(client, office["token"], webhook_receiver, resource, expect=400)["error"]
        assert error["code"] == "ValidationError" and "validationToken" in error["message"]
    webhook_receiver.validation_answer = None
    webhook_receiver.stop()  # nobody answers at all
    assert _subscribe(client, office["token"], webhook_receiver, resource, expect=400)["error"]["code"] == (
        "ValidationError")
    assert db.session.scalar(select(func.count(GraphSubscription.id))) == 0


def test_lifetime_change_types_and_resources_are_checked(app, client, office, webhook_receiver):
    token, resource = office["token"], "/me/events"
    too_long = _subscribe(client, token, webhook_receiver, resource, expect=400,
                          expirationDateTime=_expiry(MAX_LIFETIME_MINUTES + 5))["error"]
    assert "expirationDateTime" in too_long["innerError"]["fields"]
    assert str(MAX_LIFETIME_MINUTES) in too_long["innerError"]["fields"]["expirationDateTime"]
    past = _subscribe(client, token, webhook_receiver, resource, expect=400, expirationDateTime=_expiry(-1))
    assert "expirationDateTime" in past["error"]["innerError"]["fields"]
    bad_type = _subscribe(client, token, webhook_receiver, resource, change_type="created,moved", expect=400)
    assert "changeType" in bad_type["error"]["innerError"]["fields"]
    unknown = _subscribe(client, token, webhook_receiver, "/users/x@y.example/messages", expect=400)
    assert "resource" in unknown["error"]["innerError"]["fields"]
    missing = _subscribe(client, token, webhook_receiver, "/users/nobody@y.example/events", expect=404)
    assert missing["error"]["code"] == "ErrorItemNotFound"
    rich = _subscribe(client, token, webhook_receiver, resource, expect=400, includeResourceData=True)
    assert "includeResourceData" in rich["error"]["innerError"]["fields"]
    https_only = client.post("/graph/v1.0/subscriptions", headers=headers(token), json={
        "changeType": "created", "notificationUrl": "http://example.org/x", "resource": resource,
        "expirationDateTime": _expiry()})
    assert https_only.status_code == 400 and "notificationUrl" in https_only.get_json()["error"]["innerError"]["fields"]
    assert db.session.scalar(select(func.count(GraphSubscription.id))) == 0

    made = _subscribe(client, token, webhook_receiver, resource)  # /me/events: her own calendar
    url = f"/graph/v1.0/subscriptions/{made['id']}"
    renewed = client.patch(url, headers=headers(token), json={"expirationDateTime": _expiry(4000)})
    assert renewed.status_code == 200 and renewed.get_json()["expirationDateTime"] != made["expirationDateTime"]
    assert "municipal.webhookSecret" not in renewed.get_json()  # shown once
    too_far = client.patch(url, headers=headers(token), json={"expirationDateTime": _expiry(5000)})
    assert too_far.status_code == 400
    assert client.patch(url, headers=headers(token), json={
        "lifecycleNotificationUrl": webhook_receiver.url + "/other"}).status_code == 400
    listed = client.get("/graph/v1.0/subscriptions", headers=headers(token)).get_json()["value"]
    assert [s["id"] for s in listed] == [made["id"]]
    assert client.get(url, headers=headers(token)).get_json()["clientState"] == STATE

    # another caller neither sees nor deletes it
    *_, other_token = staff_with_token()
    assert client.get(url, headers=headers(other_token)).status_code == 404
    assert client.delete(url, headers=headers(other_token)).status_code == 404
    assert client.get("/graph/v1.0/subscriptions", headers=headers(other_token)).get_json()["value"] == []
    assert client.delete(url, headers=headers(token)).status_code == 204
    assert client.get(url, headers=headers(token)).status_code == 404

    # an expired subscription is gone: not listed, not renewable
    ended = _subscribe(client, token, webhook_receiver, resource)
    row = db.session.get(GraphSubscription, ended["id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/graph/v1.0/subscriptions", headers=headers(token)).get_json()["value"] == []
    assert client.patch(f"/graph/v1.0/subscriptions/{ended['id']}", headers=headers(token),
                        json={"expirationDateTime": _expiry()}).status_code == 404


def test_the_read_permission_of_the_resource_is_needed(app, client, office, webhook_receiver):
    made = api_clients.create_client("Nur Termine", ["Bookings.Read.All"])
    issued = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                               "client_secret": made.client_secret}).get_json()["access_token"]
    denied = _subscribe(client, issued, webhook_receiver, f"/users/{office['staff'].email}/events", expect=403)
    assert denied["error"]["code"] == "ErrorAccessDenied" and "Calendars.Read" in denied["error"]["message"]
    allowed = _subscribe(client, issued, webhook_receiver,
                         f"/solutions/bookingBusinesses/{office['location'].key}/appointments")
    assert allowed["applicationId"] == made.client_id
    assert client.post("/graph/v1.0/subscriptions", json={}).status_code == 401


def test_lifecycle_reauthorization_required_then_subscription_removed(app, client, office, webhook_receiver):
    staff, token = office["staff"], office["token"]
    made = _subscribe(client, token, webhook_receiver, f"/users/{staff.email}/events",
                      expirationDateTime=_expiry(90))
    webhook_receiver.secret = made["municipal.webhookSecret"]
    now = utcnow()
    assert run_lifecycle(now) == ""  # 90 minutes left: no warning yet
    assert run_lifecycle(now + timedelta(minutes=40)).startswith("0 removed, 1 warned")
    assert run_lifecycle(now + timedelta(minutes=41)) == ""  # once
    _deliver(app, now + timedelta(minutes=41))
    (warning,) = _notifications(webhook_receiver, "/hooks/lifecycle")
    assert warning["lifecycleEvent"] == "reauthorizationRequired" and warning["clientState"] == STATE
    assert warning["subscriptionId"] == made["id"] and "changeType" not in warning
    url = f"/graph/v1.0/subscriptions/{made['id']}"
    assert client.post(f"{url}/reauthorize", headers=headers(token)).status_code == 204
    assert run_lifecycle(now + timedelta(minutes=42)).startswith("0 removed, 1 warned")  # cleared, so again

    # the owner loses the permission (her roles change): removed, with a last lifecycle notification
    user = db.session.get(User, office["user"].id)
    user.roles = "poll_admin"
    db.session.commit()
    assert run_lifecycle(now + timedelta(minutes=43)).startswith("1 removed")
    _deliver(app, now + timedelta(minutes=44))
    assert [n["lifecycleEvent"] for n in _notifications(webhook_receiver, "/hooks/lifecycle")] == [
        "reauthorizationRequired", "reauthorizationRequired", "subscriptionRemoved"]
    assert notify_graph_change([f"calendar:{staff.calendar_key}"], encode_id("x"), "created") == 0  # removed
    # gone for good a week after removal, once nothing waits for delivery
    assert "1 deleted" in run_lifecycle(now + timedelta(days=8))
    assert db.session.get(GraphSubscription, made["id"]) is None
