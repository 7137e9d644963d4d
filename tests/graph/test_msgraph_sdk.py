"""The real Microsoft Graph SDK (msgraph-sdk, pinned in the test extras) against the app served by
gunicorn, with a fixed-token ``AccessTokenProvider`` and the base URL set to ``/graph/v1.0``: users,
events (201, transactionId, If-Match 412, 404, delete 204), calendarView with paging through
``PageIterator``, delta, getSchedule, places and a room booked through the room's calendar, and 429 with
an integer ``Retry-After`` that the SDK waits out. The event created through Graph is checked in the
staff member's real Radicale calendar, a citizen's web booking in calendarView and getSchedule."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
import requests
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.room import Room
from msgraph.generated.places.graph_room.graph_room_request_builder import GraphRoomRequestBuilder
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph_core import PageIterator
from sqlalchemy.orm.attributes import flag_modified

from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from scripts.graph_example import make_client
from staff_calendar.calendars import mirror, outbox
from tests.factories import build_app, make_user, stamp_mirror
from tests.fixtures.caldav_servers import link_calendar, put_remote_event
from tests.fixtures.gunicorn import gunicorn_instance
from tests.graph.helpers import BER, future_day, run_async, staff_with_token
from tests.staff_calendar.spaces.factories import make_floor, make_room

pytestmark = pytest.mark.caldav
ROOT = Path(__file__).resolve().parents[2]
WINDOWS_BERLIN = "W. Europe Standard Time"
PREFER = f'outlook.timezone="{WINDOWS_BERLIN}"'


def local(day: datetime, hour: int, minute: int = 0) -> str:
    return datetime.combine(day.date(), time(hour, minute)).strftime("%Y-%m-%dT%H:%M:%S")


def with_prefer(query_parameters=None) -> RequestConfiguration:
    config = RequestConfiguration(query_parameters=query_parameters)
    config.headers.add("Prefer", PREFER)
    return config


@pytest.fixture
def graph_server(fresh_database_url, tmp_path, radicale_server):
    """gunicorn on a fresh database with a staff member (token, Radicale calendar with another client's
    event), a room, and a citizen's appointment booked through the web API."""
    instance = tmp_path / "instance"
    app = build_app(fresh_database_url, instance)
    day = future_day(9)
    with app.app_context():
        link, remote = link_calendar(radicale_server)
        location, service, staff, _user, token = staff_with_token(link.key)
        site = db.session.query(SiteSettings).one()
        site.settings = {**site.settings, "spaces": {"horizon_days": 30, "desk_days_per_week": 3}}
        flag_modified(site, "settings")
        floor = make_floor("eg")
        room = make_room(floor, "saal", capacity=12, attributes=["accessible", "beamer"])
        other = icalendar.Event.new(uid="team-1@other.example", summary="Teamrunde",
                                    start=datetime.combine(day.date(), time(10), tzinfo=BER),
                                    end=datetime.combine(day.date(), time(11), tzinfo=BER))
        put_remote_event(remote.calendar, other)
        assert mirror.sync_calendar(link.key).error is None
        stamp_mirror(link.key)
        admin = make_user("verwaltung", roles="admin")
        admin_token = create_api_token(admin.username, "graph")
        db.session.commit()
        seeded = {"staff_mail": staff.email, "staff_key": staff.key, "token": token, "admin_token": admin_token,
                  "room_mail": f"raum-{room.key}@{app.config['EVENT_UID_DOMAIN']}", "service": service.key,
                  "location": location.key, "calendar": remote.calendar, "link": link.key}
        db.engine.dispose()
    with gunicorn_instance(fresh_database_url, instance, GRAPH_RATE_LIMIT="60 per 10 second",
                           RATELIMIT_ENABLED="true", BOOKING_RATE_LIMIT="100 per minute") as url:
        yield url, app, day, seeded


def test_msgraph_sdk_calendar_rooms_and_errors(graph_server):
    url, app, day, seeded = graph_server
    base = f"{url}/graph/v1.0"
    staff = seeded["staff_mail"]

    # a citizen's web booking (the JSON API of the booking form) at 08:00
    booked = requests.post(f"{url}/api/v1/appointments", timeout=30, json={
        "service": seeded["service"], "location": seeded["location"],
        "start": datetime.combine(day.date(), time(8), tzinfo=BER).isoformat(),
        "name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True})
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]

    async def scenario():
        client, adapter = make_client(base, seeded["token"])
        user = await client.users.by_user_id(staff).get()
        assert user.mail == staff and user.id == f"staff-{seeded['staff_key']}"

        new = Event(subject="Abstimmung Bauamt", body=ItemBody(content_type=BodyType.Html, content="<p>Plan</p>"),
                    start=DateTimeTimeZone(date_time=local(day, 9), time_zone=WINDOWS_BERLIN),
                    end=DateTimeTimeZone(date_time=local(day, 9, 30), time_zone=WINDOWS_BERLIN),
                    location=Location(display_name="Raum 1.01"),
                    attendees=[Attendee(type=AttendeeType.Required,
                                        email_address=EmailAddress(address="max@example.org", name="Max"))],
                    transaction_id="b7a1c0de-0000-4000-8000-000000000001")
        created = await client.users.by_user_id(staff).events.post(new)
        again = await client.users.by_user_id(staff).calendar.events.post(new)  # a retried POST
        assert again.id == created.id and "/" not in created.id
        assert created.i_cal_u_id.endswith("@" + app.config["EVENT_UID_DOMAIN"])
        got = await client.users.by_user_id(staff).events.by_event_id(created.id).get(
            request_configuration=with_prefer())
        assert got.start.date_time == f"{local(day, 9)}.0000000" and got.start.time_zone == WINDOWS_BERLIN

        # 412 on a stale change key, 200 with the current one
        stale = RequestConfiguration()
        stale.headers.add("If-Match", 'W/"not-the-key"')
        with pytest.raises(ODataError) as refused:
            await client.users.by_user_id(staff).events.by_event_id(created.id).patch(Event(subject="x"),
                                                                                     request_configuration=stale)
        assert refused.value.response_status_code == 412
        assert refused.value.error.code == "ErrorIrresolvableConflict"
        current = RequestConfiguration()
        current.headers.add("If-Match", f'W/"{got.change_key}"')
        patched = await client.users.by_user_id(staff).events.by_event_id(created.id).patch(
            Event(subject="Abstimmung Bauamt (neu)"), request_configuration=current)
        assert patched.subject == "Abstimmung Bauamt (neu)" and patched.change_key != got.change_key

        # 404 in Graph's envelope
        with pytest.raises(ODataError) as missing:
            await client.users.by_user_id(staff).events.by_event_id("bm90LWhlcmU").get()
        assert missing.value.response_status_code == 404 and missing.value.error.code == "ErrorItemNotFound"

        # calendarView: two per page, followed through PageIterator (absolute nextLinks)
        start, end = day.strftime("%Y-%m-%dT00:00:00"), (day + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
        query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end, select=["subject", "start", "end", "showAs"], top=2,
            orderby=["start/dateTime"])
        page = await client.users.by_user_id(staff).calendar_view.get(request_configuration=with_prefer(query))
        assert page.odata_next_link.startswith(base)
        events: list[Event] = []
        iterator = PageIterator(page, adapter)
        iterator.headers.add("Prefer", PREFER)
        await iterator.iterate(lambda event: events.append(event) or True)
        subjects = [event.subject for event in events]
        assert "Abstimmung Bauamt (neu)" in subjects and "Teamrunde" in subjects
        assert any(code in (subject or "") for subject in subjects)  # the citizen's appointment

        # delta: first round, then a removal
        delta = await client.users.by_user_id(staff).calendar_view.delta.get(request_configuration=RequestConfiguration(
            query_parameters=type(client.users.by_user_id(staff).calendar_view.delta)
            .DeltaRequestBuilderGetQueryParameters(start_date_time=start, end_date_time=end)))
        assert len(delta.value) == len(events) and delta.odata_delta_link.startswith(base)

        # getSchedule (PascalCase keys from the SDK) for the staff member and the room
        schedule = await client.users.by_user_id(staff).calendar.get_schedule.post(GetSchedulePostRequestBody(
            schedules=[staff, seeded["room_mail"]],
            start_time=DateTimeTimeZone(date_time=local(day, 8), time_zone=WINDOWS_BERLIN),
            end_time=DateTimeTimeZone(date_time=local(day, 12), time_zone=WINDOWS_BERLIN),
            availability_view_interval=30), request_configuration=with_prefer())
        staff_view, room_view = schedule.value
        # 08:00 appointment, 09:00 our event, 10-11 the other client's meeting, 11:00 "Sprechstunde"
        assert staff_view.availability_view == "20202220"
        assert room_view.availability_view == "00000000"

        # rooms, and a room booked through its calendar (the room rules apply)
        rooms = await client.places.graph_room.get(request_configuration=RequestConfiguration(
            query_parameters=GraphRoomRequestBuilder.GraphRoomRequestBuilderGetQueryParameters(
                top=100, filter="capacity ge 10 and isWheelChairAccessible eq true")))
        too_small = await client.places.graph_room.get(request_configuration=RequestConfiguration(
            query_parameters=GraphRoomRequestBuilder.GraphRoomRequestBuilderGetQueryParameters(
                filter="capacity ge 13")))
        assert too_small.value == []
        with pytest.raises(ODataError) as unsupported:
            await client.places.graph_room.get(request_configuration=RequestConfiguration(
                query_parameters=GraphRoomRequestBuilder.GraphRoomRequestBuilderGetQueryParameters(
                    filter="startswith(displayName,'S')")))
        assert unsupported.value.response_status_code == 400
        (room,) = rooms.value
        assert isinstance(room, Room) and room.capacity == 12 and room.is_wheel_chair_accessible is True
        assert room.email_address == seeded["room_mail"]
        place = await client.places.by_place_id(seeded["room_mail"]).graph_room.get()
        assert isinstance(place, Room) and place.display_name == room.display_name
        lists = await client.places.graph_room_list.get()
        (floor,) = lists.value
        in_list = await client.places.by_place_id(floor.email_address).graph_room_list.rooms.get()
        assert [r.email_address for r in in_list.value] == [seeded["room_mail"]]
        room_event = await client.users.by_user_id(seeded["room_mail"]).events.post(Event(
            subject="Bürgerversammlung", start=DateTimeTimeZone(date_time=local(day, 14), time_zone=WINDOWS_BERLIN),
            end=DateTimeTimeZone(date_time=local(day, 15), time_zone=WINDOWS_BERLIN)))
        with pytest.raises(ODataError) as taken:  # the same time again: the room is taken
            await client.users.by_user_id(seeded["room_mail"]).events.post(Event(
                subject="Doppelt", start=DateTimeTimeZone(date_time=local(day, 14, 30), time_zone=WINDOWS_BERLIN),
                end=DateTimeTimeZone(date_time=local(day, 15, 30), time_zone=WINDOWS_BERLIN)))
        assert taken.value.response_status_code == 409
        room_view = await client.users.by_user_id(seeded["room_mail"]).calendar_view.get(
            request_configuration=RequestConfiguration(query_parameters=CalendarViewRequestBuilder
                                                       .CalendarViewRequestBuilderGetQueryParameters(
                                                           start_date_time=start, end_date_time=end)))
        assert [event.subject for event in room_view.value] == ["Bürgerversammlung"]
        await client.users.by_user_id(seeded["room_mail"]).events.by_event_id(room_event.id).delete()

        # 429: a burst beyond the limit answers Graph's envelope with an integer Retry-After; the SDK
        # waits it out and succeeds
        # (a burst until the first 429: the window is 10 s wide so a slow machine still reaches the limit)
        answers = []
        while len(answers) < 150 and not any(answer.status_code == 429 for answer in answers[-1:]):
            answers.append(requests.get(f"{base}/users", headers={"Authorization": f"Bearer {seeded['token']}"},
                                        timeout=30))
        limited = [answer for answer in answers if answer.status_code == 429]
        assert limited, "the rate limit never answered 429"
        assert limited[0].headers["Retry-After"].isdigit() and int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].json()["error"]["code"] == "TooManyRequests"
        assert (await client.users.by_user_id(staff).get()).mail == staff

        # delete: 204, then 404
        await client.users.by_user_id(staff).events.by_event_id(created.id).delete()
        with pytest.raises((ODataError, APIError)):
            await client.users.by_user_id(staff).events.by_event_id(created.id).get()
        return created.i_cal_u_id

    # the event reached the staff member's Radicale calendar (through the outbox) ...
    uid = None

    async def create_only():
        client, _ = make_client(base, seeded["token"])
        made = await client.users.by_user_id(staff).events.post(Event(
            subject="Sprechstunde", start=DateTimeTimeZone(date_time=local(day, 11), time_zone=WINDOWS_BERLIN),
            end=DateTimeTimeZone(date_time=local(day, 11, 30), time_zone=WINDOWS_BERLIN)))
        return made.i_cal_u_id

    uid = run_async(create_only())
    with app.app_context():
        outbox.drain()
        db.engine.dispose()
    stored = {str(e["UID"]): e for obj in seeded["calendar"].get_events()
              for e in icalendar.Calendar.from_ical(obj.data).walk("VEVENT")}
    assert str(stored[uid]["SUMMARY"]) == "Sprechstunde"
    assert stored[uid]["DTSTART"].dt.astimezone(UTC) == datetime.combine(day.date(), time(11), tzinfo=BER)
    run_async(scenario())

    # the README's example script books a room and reads the token owner's calendar (/me)
    example = subprocess.run([sys.executable, str(ROOT / "scripts" / "graph_example.py")], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "GRAPH_BASE_URL": base,
                                                          "GRAPH_TOKEN": seeded["token"]})
    assert example.returncode == 0, example.stderr
    assert "booked Raum saal" in example.stdout and "events in the coming week" in example.stdout
