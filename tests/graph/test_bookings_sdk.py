"""Graph Bookings through gunicorn: the real msgraph-sdk lists the office, its services and staff and
books, reads and cancels an appointment; and the race: 20 concurrent Bookings-API creates of one slot
on real connections (4 gunicorn workers) → exactly one 201, every other answer 409 ``slot_taken``."""

from __future__ import annotations

import threading

import requests
from msgraph.generated.models.booking_appointment import BookingAppointment
from msgraph.generated.models.booking_customer_information import BookingCustomerInformation
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.solutions.booking_businesses.item.appointments.item.cancel.cancel_post_request_body import (
    CancelPostRequestBody,
)
from sqlalchemy import func, select

from citizen_portal.booking.models import Appointment
from citizen_portal.core.extensions import db
from scripts.graph_example import make_client
from tests.factories import build_app
from tests.fixtures.gunicorn import gunicorn_instance
from tests.graph.helpers import future_day, run_async, staff_with_token

CLIENTS = 20


def _seed(database_url, instance):
    app = build_app(database_url, instance)
    with app.app_context():
        location, service, _staff, _user, token = staff_with_token()
        keys = (location.key, service.key, token)
        db.engine.dispose()
    return app, keys


def test_bookings_with_the_sdk_and_twenty_concurrent_creates(fresh_database_url, tmp_path):
    instance = tmp_path / "instance"
    app, (location, service, token) = _seed(fresh_database_url, instance)
    day = future_day(6)
    start = day.replace(hour=9).strftime("%Y-%m-%dT%H:%M:%S")
    with gunicorn_instance(fresh_database_url, instance, workers=4, GRAPH_RATE_LIMIT="1000 per second") as url:
        base = f"{url}/graph/v1.0"

        async def with_sdk():
            client, _ = make_client(base, token)
            businesses = await client.solutions.booking_businesses.get()
            assert [b.id for b in businesses.value] == [location]
            business = client.solutions.booking_businesses.by_booking_business_id(location)
            assert [s.id for s in (await business.services.get()).value] == [service]
            assert len((await business.staff_members.get()).value) == 1
            made = await business.appointments.post(BookingAppointment(
                service_id=service,
                start_date_time=DateTimeTimeZone(date_time=day.replace(hour=11).strftime("%Y-%m-%dT%H:%M:%S"),
                                                 time_zone="W. Europe Standard Time"),
                end_date_time=DateTimeTimeZone(date_time=day.replace(hour=11, minute=30).strftime("%Y-%m-%dT%H:%M:%S"),
                                               time_zone="W. Europe Standard Time"),
                customers=[BookingCustomerInformation(name="Max Muster", email_address="max@example.org")]))
            got = await business.appointments.by_booking_appointment_id(made.id).get()
            assert got.service_id == service and got.start_date_time.date_time.startswith(
                day.replace(hour=10).strftime("%Y-%m-%dT%H"))  # UTC by default (no Prefer): 11:00 Berlin
            await business.appointments.by_booking_appointment_id(made.id).cancel.post(
                CancelPostRequestBody(cancellation_message="entfällt"))
            cancelled = await business.appointments.by_booking_appointment_id(made.id).get()
            assert cancelled.additional_data["municipal.status"] == "cancelled"
            try:
                await business.appointments.by_booking_appointment_id("NOPE-000").get()
            except ODataError as error:
                assert error.response_status_code == 404
            else:
                raise AssertionError("no 404")

        run_async(with_sdk())

        barrier = threading.Barrier(CLIENTS)
        answers: list = [None] * CLIENTS

        def create(index: int) -> None:
            barrier.wait()
            response = requests.post(f"{base}/solutions/bookingBusinesses/{location}/appointments", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"},
                                     json={"serviceId": service,
                                           "startDateTime": {"dateTime": start, "timeZone": "Europe/Berlin"},
                                           "customerName": f"Person {index}",
                                           "customerEmailAddress": f"person{index}@example.org"})
            answers[index] = (response.status_code, response.json())

        threads = [threading.Thread(target=create, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == CLIENTS - 1, statuses
    assert all(body["error"]["innerError"]["code"] == "slot_taken" for status, body in answers if status == 409)
    with app.app_context():
        at_nine = db.session.scalar(select(func.count(Appointment.id)).where(
            Appointment.start_at == day.replace(hour=9), Appointment.status == "confirmed"))
        db.engine.dispose()
    assert at_nine == 1
