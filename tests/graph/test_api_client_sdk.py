"""An API client (issue 11: client credentials, Graph permission names as scopes, restricted to one
location and one staff member) uses the real msgraph-sdk with the access token from ``POST /oauth/token``:
it reads and writes the calendar it may see, books through Bookings at its location, and sees nothing
of the other location or the other staff member (404, as if they did not exist); rooms it cannot book."""

from __future__ import annotations

import pytest
import requests
from msgraph.generated.models.booking_appointment import BookingAppointment
from msgraph.generated.models.booking_customer_information import BookingCustomerInformation
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from citizen_portal.core.api_clients import create_client
from citizen_portal.core.extensions import db
from scripts.graph_example import make_client
from staff_calendar.calendars.models import CalendarLink
from tests.citizen_portal.booking.factories import make_setup
from tests.factories import build_app, make_user, stamp_mirror
from tests.fixtures.gunicorn import gunicorn_instance
from tests.graph.helpers import future_day, run_async
from tests.staff_calendar.spaces.factories import make_floor, make_room

ZONE = "W. Europe Standard Time"


def test_restricted_api_client_with_the_sdk(fresh_database_url, tmp_path):
    instance = tmp_path / "instance"
    app = build_app(fresh_database_url, instance)
    with app.app_context():
        (location, service, (staff,)) = make_setup(1)
        make_user(staff.key)
        # her calendar link (delivery to a CalDAV server is tested in test_msgraph_sdk.py)
        db.session.add(CalendarLink(key=f"staff:{staff.key}", owner_kind="staff", owner_key=staff.key,
                                    url="http://127.0.0.1:9/cal/", active=True))
        db.session.flush()
        staff.calendar_key = f"staff:{staff.key}"
        db.session.commit()
        stamp_mirror(staff.calendar_key)
        other_location, _other_service, (other_staff,) = make_setup(1)
        room = make_room(make_floor("eg"), "saal")
        secret = create_client("Fachanwendung Bürgeramt", ["Calendars.ReadWrite", "Bookings.ReadWrite.All"],
                               location_ids=[location.id], staff_usernames=[staff.key])
        seeded = {"location": location.key, "other_location": other_location.key, "service": service.key,
                  "staff": staff.email, "other_staff": other_staff.email,
                  "room": f"raum-{room.key}@{app.config['EVENT_UID_DOMAIN']}"}
        client_id, client_secret = secret.client_id, secret.client_secret
        db.engine.dispose()
    day = future_day(7)
    with gunicorn_instance(fresh_database_url, instance) as url:
        issued = requests.post(f"{url}/oauth/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
            "scope": "Calendars.ReadWrite Bookings.ReadWrite.All"})
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]

        async def scenario():
            client, _ = make_client(f"{url}/graph/v1.0", token)
            users = await client.users.get()
            assert [u.mail for u in users.value if u.id.startswith("staff-")] == [seeded["staff"]]
            with pytest.raises(ODataError) as hidden:
                await client.users.by_user_id(seeded["other_staff"]).get()
            assert hidden.value.response_status_code == 404
            made = await client.users.by_user_id(seeded["staff"]).events.post(Event(
                subject="Vorgang 4711", start=DateTimeTimeZone(date_time=f"{day.date()}T13:00:00", time_zone=ZONE),
                end=DateTimeTimeZone(date_time=f"{day.date()}T13:30:00", time_zone=ZONE)))
            assert made.subject == "Vorgang 4711"
            with pytest.raises(ODataError) as no_room:
                await client.users.by_user_id(seeded["room"]).events.post(Event(
                    subject="Raum", start=DateTimeTimeZone(date_time=f"{day.date()}T14:00:00", time_zone=ZONE),
                    end=DateTimeTimeZone(date_time=f"{day.date()}T15:00:00", time_zone=ZONE)))
            assert no_room.value.response_status_code == 403
            with pytest.raises(ODataError) as no_me:
                await client.me.get()
            assert no_me.value.response_status_code == 404

            businesses = await client.solutions.booking_businesses.get()
            assert [b.id for b in businesses.value] == [seeded["location"]]
            with pytest.raises(ODataError) as other:
                await client.solutions.booking_businesses.by_booking_business_id(seeded["other_location"]).get()
            assert other.value.response_status_code == 404
            booked = await client.solutions.booking_businesses.by_booking_business_id(
                seeded["location"]).appointments.post(BookingAppointment(
                    service_id=seeded["service"],
                    start_date_time=DateTimeTimeZone(date_time=f"{day.date()}T09:00:00", time_zone=ZONE),
                    end_date_time=DateTimeTimeZone(date_time=f"{day.date()}T09:30:00", time_zone=ZONE),
                    customers=[BookingCustomerInformation(name="Max Muster", email_address="max@example.org")]))
            assert booked.service_id == seeded["service"]

        run_async(scenario())
        # a token without the Bookings scope gets 403 ErrorAccessDenied
        narrow = requests.post(f"{url}/oauth/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
            "scope": "Calendars.ReadWrite"}).json()["access_token"]
        refused = requests.get(f"{url}/graph/v1.0/solutions/bookingBusinesses", timeout=30,
                               headers={"Authorization": f"Bearer {narrow}"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "ErrorAccessDenied"
