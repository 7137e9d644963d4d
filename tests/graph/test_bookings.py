"""Graph Bookings subset with the Flask client: each location a bookingBusiness; services, staff members;
appointments created through the web form's booking service (same rules, mail, calendar event),
listed, moved, cancelled; the free-slots extension offers what the form offers."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from citizen_portal.booking import services as booking
from citizen_portal.booking.services.appointments import BookingRequest
from staff_calendar.calendars import outbox
from tests.citizen_portal.booking.factories import contact
from tests.factories import stamp_mirror
from tests.fixtures.caldav_servers import link_calendar
from tests.graph.helpers import TZ_PREFER, future_day, headers, staff_with_token

BASE = "/graph/v1.0/solutions/bookingBusinesses"


def body(service_key: str, start, email: str = "erika@example.org", **extra):
    return {"@odata.type": "#microsoft.graph.bookingAppointment", "serviceId": service_key,
            "startDateTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "W. Europe Standard Time"},
            "endDateTime": {"dateTime": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                            "timeZone": "W. Europe Standard Time"},
            "customers": [{"@odata.type": "#microsoft.graph.bookingCustomerInformation", "name": "Erika Mustermann",
                           "emailAddress": email, "phone": "0711 123456"}], **extra}


def test_businesses_services_staff(app, client):
    location, service, staff, _user, token = staff_with_token()
    businesses = client.get(BASE, headers=headers(token)).get_json()["value"]
    assert [b["id"] for b in businesses] == [location.key]
    assert businesses[0]["businessHours"][0]["timeSlots"][0]["startTime"] == "08:00:00.0000000"
    offered = client.get(f"{BASE}/{location.key}/services", headers=headers(token)).get_json()["value"]
    assert offered[0]["id"] == service.key and offered[0]["defaultDuration"] == "PT30M"
    assert offered[0]["staffMemberIds"] == [f"staff-{staff.key}"]
    members = client.get(f"{BASE}/{location.key}/staffMembers", headers=headers(token)).get_json()["value"]
    assert members[0]["emailAddress"] == staff.email
    assert client.get(f"{BASE}/nowhere/services", headers=headers(token)).status_code == 404


def test_bookings_need_the_bookings_permission(app, client):
    location, *_ = staff_with_token()
    from citizen_portal.core.api_tokens import create_api_token
    from tests.factories import make_user

    make_user("nur-staff", roles="staff")
    response = client.get(f"{BASE}/{location.key}/services", headers=headers(create_api_token("nur-staff", "t")))
    assert response.status_code == 403
    assert "Bookings.Read.All" in response.get_json()["error"]["message"]


def test_appointment_lifecycle_through_the_booking_service(app, client, smtp_sink):
    location, service, staff, _user, token = staff_with_token()
    day = future_day(8)
    nine = day.replace(hour=9)
    free = client.get(f"{BASE}/{location.key}/services/{service.key}/municipal.freeSlots",
                      query_string={"startDateTime": day.isoformat(),
                                    "endDateTime": (day + timedelta(days=1)).isoformat()},
                      headers=headers(token, Prefer=TZ_PREFER)).get_json()["value"]
    assert free[0]["startDateTime"]["dateTime"] == day.replace(hour=8).strftime("%Y-%m-%dT%H:%M:%S.0000000")
    assert len(free) == len(booking.find_slots(service.key, day.date(), day.date()))

    created = client.post(f"{BASE}/{location.key}/appointments", json=body(service.key, nine), headers=headers(token))
    assert created.status_code == 201, created.get_data(as_text=True)
    appointment = created.get_json()
    assert appointment["customers"][0]["emailAddress"] == "erika@example.org"
    assert appointment["staffMemberIds"] == [f"staff-{staff.key}"]
    (mail,) = smtp_sink.wait_for(1)
    assert mail["To"] == "erika@example.org"

    # the same time again: the platform's slot_taken as Graph's 409
    taken = client.post(f"{BASE}/{location.key}/appointments", json=body(service.key, nine, "max@example.org"),
                        headers=headers(token))
    assert taken.status_code == 409
    assert taken.get_json()["error"]["innerError"]["code"] == "slot_taken"
    # bad customer data: the booking form's field message, nothing booked
    bad = client.post(f"{BASE}/{location.key}/appointments",
                      json=body(service.key, day.replace(hour=10), "not-an-address"), headers=headers(token))
    assert bad.status_code == 400 and "email" in bad.get_json()["error"]["innerError"]["fields"]

    listed = client.get(f"{BASE}/{location.key}/calendarView", headers=headers(token),
                        query_string={"startDateTime": day.isoformat(),
                                      "endDateTime": (day + timedelta(days=1)).isoformat()}).get_json()["value"]
    assert [a["id"] for a in listed] == [appointment["id"]]

    moved = client.patch(f"{BASE}/{location.key}/appointments/{appointment['id']}", headers=headers(token),
                         json={"startDateTime": {"dateTime": day.replace(hour=10).strftime("%Y-%m-%dT%H:%M:%S"),
                                                 "timeZone": "Europe/Berlin"}})
    assert moved.status_code == 200
    got = client.get(f"{BASE}/{location.key}/appointments/{appointment['id']}",
                     headers=headers(token, Prefer='outlook.timezone="Europe/Berlin"')).get_json()
    assert got["startDateTime"] == {"dateTime": day.replace(hour=10).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                                    "timeZone": "Europe/Berlin"}
    availability = client.post(f"{BASE}/{location.key}/getStaffAvailability", headers=headers(token, Prefer=TZ_PREFER),
                               json={"staffIds": [f"staff-{staff.key}"],
                                     "startDateTime": {"dateTime": day.replace(hour=8).strftime("%Y-%m-%dT%H:%M:%S"),
                                                       "timeZone": "W. Europe Standard Time"},
                                     "endDateTime": {"dateTime": day.replace(hour=12).strftime("%Y-%m-%dT%H:%M:%S"),
                                                     "timeZone": "W. Europe Standard Time"}}).get_json()
    items = [(item["status"], item["startDateTime"]["dateTime"][11:16], item["endDateTime"]["dateTime"][11:16])
             for item in availability["value"][0]["availabilityItems"]]
    assert items == [("available", "08:00", "10:00"), ("busy", "10:00", "10:30"), ("available", "10:30", "12:00")]
    cancelled = client.post(f"{BASE}/{location.key}/appointments/{appointment['id']}/cancel",
                            json={"cancellationMessage": "entfällt"}, headers=headers(token))
    assert cancelled.status_code == 204
    got = client.get(f"{BASE}/{location.key}/appointments/{appointment['id']}", headers=headers(token)).get_json()
    assert got["municipal.status"] == "cancelled"
    assert client.get(f"{BASE}/{location.key}/appointments/NOPE-123", headers=headers(token)).status_code == 404


@pytest.mark.caldav
def test_bookings_appointment_reaches_the_staff_calendar_and_web_bookings_are_listed(app, client, radicale_server):
    link, remote = link_calendar(radicale_server)
    location, service, _staff, _user, token = staff_with_token(link.key)
    stamp_mirror(link.key)
    day = future_day(9)
    web = booking.book(BookingRequest(service.key, location.key, day.replace(hour=8), contact()))
    made = client.post(f"{BASE}/{location.key}/appointments", headers=headers(token),
                       json=body(service.key, day.replace(hour=9), "max@example.org")).get_json()
    listed = client.get(f"{BASE}/{location.key}/appointments", headers=headers(token)).get_json()["value"]
    assert [a["id"] for a in listed] == [web.appointment.code, made["id"]]
    assert outbox.drain().delivered == 2
    summaries = sorted(str(event["SUMMARY"]) for obj in remote.calendar.get_events()
                       for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"))
    assert any(made["id"] in summary for summary in summaries)
    assert any(web.appointment.code in summary for summary in summaries)
