"""Graph change notifications end to end: the app served by gunicorn, the platform's worker
(``flask worker``) running beside it, a real receiver on loopback. The real msgraph-sdk creates,
renews and deletes the subscriptions (``client.subscriptions.post``); an event written through Graph and
a citizen's web booking each reach the receiver within seconds, with the subscription's ``clientState``
and a valid Standard Webhooks signature. A receiver that fails the handshake and a lifetime beyond the
maximum are 400 through the SDK."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import pytest
import requests
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription

from citizen_portal.core.extensions import db
from citizen_portal.core.graph import MAX_LIFETIME_MINUTES
from scripts.graph_example import make_client
from tests.factories import build_app
from tests.fixtures.gunicorn import gunicorn_instance, worker_instance
from tests.graph.helpers import BER, future_day, run_async, staff_with_token, unreachable_calendar

WITHIN_SECONDS = 15.0
STATE = "fachverfahren-7f3a"


def _seed(database_url, instance):
    app = build_app(database_url, instance)
    with app.app_context():
        location, service, staff, _user, token = staff_with_token()
        unreachable_calendar(staff)
        seeded = {"location": location.key, "service": service.key, "staff": staff.email, "token": token}
        db.engine.dispose()
    return seeded


def _wait_for(receiver, subscription_id: str, started: float) -> tuple[dict, float]:
    while time.monotonic() - started < WITHIN_SECONDS:
        for message in list(receiver.accepted):
            for item in message["body"]["value"]:
                if item["subscriptionId"] == subscription_id:
                    return item, time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"no notification within {WITHIN_SECONDS} s (rejected: {receiver.rejected})")


def test_sdk_subscriptions_and_notifications_within_seconds(fresh_database_url, tmp_path, webhook_receiver):
    instance = tmp_path / "instance"
    seeded = _seed(fresh_database_url, instance)
    day = future_day(6)
    settings = {"WEBHOOK_ALLOW_HTTP_LOOPBACK": "true", "GRAPH_RATE_LIMIT": "1000 per second"}
    with gunicorn_instance(fresh_database_url, instance, **settings) as url, \
            worker_instance(fresh_database_url, instance, **settings):
        base = f"{url}/graph/v1.0"

        def subscription(resource: str, minutes: int = 120) -> Subscription:
            return Subscription(change_type="created,updated,deleted", client_state=STATE, resource=resource,
                                notification_url=webhook_receiver.url + "/notify",
                                lifecycle_notification_url=webhook_receiver.url + "/lifecycle",
                                expiration_date_time=datetime.now(UTC) + timedelta(minutes=minutes))

        async def subscribe():
            client, _ = make_client(base, seeded["token"])
            events = await client.subscriptions.post(subscription(f"/users/{seeded['staff']}/events"))
            bookings = await client.subscriptions.post(subscription(
                f"solutions/bookingBusinesses/{seeded['location']}/appointments"))
            assert events.client_state == STATE and events.change_type == "created,updated,deleted"
            renewed = await client.subscriptions.by_subscription_id(events.id).patch(
                Subscription(expiration_date_time=datetime.now(UTC) + timedelta(minutes=MAX_LIFETIME_MINUTES - 5)))
            assert renewed.expiration_date_time > events.expiration_date_time
            listed = await client.subscriptions.get()
            assert {s.id for s in listed.value} == {events.id, bookings.id}
            with pytest.raises(ODataError) as too_long:
                await client.subscriptions.post(subscription("/me/events", MAX_LIFETIME_MINUTES + 10))
            assert too_long.value.response_status_code == 400
            webhook_receiver.validation_answer = "wrong"
            with pytest.raises(ODataError) as refused:
                await client.subscriptions.post(subscription("/me/events"))
            webhook_receiver.validation_answer = None
            assert refused.value.response_status_code == 400 and refused.value.error.code == "ValidationError"
            extra = await client.subscriptions.post(subscription("/me/events"))
            await client.subscriptions.by_subscription_id(extra.id).delete()
            return events, bookings

        events, bookings = run_async(subscribe())
        webhook_receiver.secrets = [s.additional_data["municipal.webhookSecret"] for s in (events, bookings)]

        # a change through Graph (the SDK writes an event) ...
        async def write_event():
            client, _ = make_client(base, seeded["token"])
            return await client.users.by_user_id(seeded["staff"]).events.post(Event(
                subject="Abstimmung", start=DateTimeTimeZone(date_time=f"{day.date()}T11:00:00",
                                                             time_zone="Europe/Berlin"),
                end=DateTimeTimeZone(date_time=f"{day.date()}T11:30:00", time_zone="Europe/Berlin")))

        started = time.monotonic()
        written = run_async(write_event())
        changed, graph_seconds = _wait_for(webhook_receiver, events.id, started)
        assert changed["clientState"] == STATE and changed["changeType"] == "created"
        assert changed["resourceData"]["id"] == written.id

        # ... and a citizen's booking through the web API
        started = time.monotonic()
        booked = requests.post(f"{url}/api/v1/appointments", timeout=30, json={
            "service": seeded["service"], "location": seeded["location"],
            "start": datetime.combine(day.date(), clock(9), tzinfo=BER).isoformat(),
            "name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True})
        assert booked.status_code == 201, booked.text
        appointment, booking_seconds = _wait_for(webhook_receiver, bookings.id, started)
        assert appointment["clientState"] == STATE and appointment["changeType"] == "created"
        assert appointment["resourceData"]["id"] == booked.json()["code"]
        assert webhook_receiver.rejected == []
    print(f"notification after a Graph write: {graph_seconds:.1f} s, after a web booking: {booking_seconds:.1f} s")
