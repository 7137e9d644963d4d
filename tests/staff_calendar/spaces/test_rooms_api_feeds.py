"""Rooms, the JSON API (session and bearer token), the personal feed, who's in, occupancy."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiToken
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import DeskBooking, RoomBooking
from staff_calendar.spaces.services import desks, feeds, occupancy, presence, rooms
from tests.staff_calendar.spaces.factories import login_as, make_desk, make_floor, make_room, make_site, open_day
from tests.staff_calendar.spaces.test_desks import make_person

BERLIN = ZoneInfo("Europe/Berlin")


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def setup(app, calendar_calls):
    make_site()
    floor = make_floor("f1")
    db.session.add(CalendarLink(key="room:r1", owner_kind="room", owner_key="r1", url="http://127.0.0.1:1/r1/"))
    db.session.commit()
    room = make_room(floor, "r1", capacity=4, calendar_key="room:r1")
    make_desk(floor, "d1")
    return {"floor": floor, "room": room, "calendar": calendar_calls}


def token_for(user) -> str:
    return create_api_token(user.username, "t")


def test_room_booking_rules(setup):
    _user, anna = make_person()
    day = open_day(1)
    booking = rooms.book_room(anna, "r1", at(day, 9), at(day, 10, 30), "Jour fixe", 3)
    keys = sorted(e["calendar_key"] for e in setup["calendar"].events)
    assert keys == ["room:r1", "staff:anna"]
    assert all(e["transparent"] is False for e in setup["calendar"].events)
    with pytest.raises(Conflict):
        rooms.book_room(anna, "r1", at(day, 10), at(day, 11), "Overlap")
    rooms.book_room(anna, "r1", at(day, 10, 30), at(day, 11), "Directly after")  # [start, end) touches
    with pytest.raises(Invalid) as grid:
        rooms.book_room(anna, "r1", at(day, 12, 10), at(day, 13), "Off grid")
    assert "start" in grid.value.fields
    with pytest.raises(Invalid) as capacity:
        rooms.book_room(anna, "r1", at(day, 14), at(day, 15), "Too many", 5)
    assert "attendees" in capacity.value.fields
    with pytest.raises(Invalid) as hours:
        rooms.book_room(anna, "r1", at(day, 18, 30), at(day, 19, 30), "Late")
    assert hours.value.code == "outside_hours"
    rooms.cancel_room_booking(anna, booking.id)
    assert sorted(r["calendar_key"] for r in setup["calendar"].removals) == ["room:r1", "staff:anna"]


def test_room_calendar_busy_time_counts(setup):
    _user, anna = make_person()
    day = open_day(1)
    setup["calendar"].busy["room:r1"] = [(at(day, 13).astimezone(UTC), at(day, 14).astimezone(UTC))]
    with pytest.raises(Conflict):
        rooms.book_room(anna, "r1", at(day, 13, 30), at(day, 14, 30), "Clash with calendar")
    busy = rooms.busy_ranges(setup["room"], day)
    assert [b.source for b in busy] == ["calendar"]


def test_api_desks_and_bookings(setup, client):
    user, _anna = make_person()
    token = token_for(user)
    headers = {"Authorization": f"Bearer {token}"}
    day = open_day(1).isoformat()
    response = client.get(f"/api/v1/desks?date={day}&floor=f1", headers=headers)
    assert response.status_code == 200
    assert response.json["desks"] == [{"key": "d1", "label": "Platz d1", "floor": "f1", "attributes": ["monitor"],
                                       "free": {"morning": True, "afternoon": True},
                                       "bookable": {"morning": True, "afternoon": True}}]
    created = client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": day, "part": "morning"},
                          headers=headers)
    assert created.status_code == 201 and created.json["id"] and created.json["part"] == "morning"
    taken = client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": day, "part": "morning"}, headers=headers)
    assert taken.status_code == 409 and taken.json["error"] == "desk_taken"
    free = client.get(f"/api/v1/desks?date={day}", headers=headers).json["desks"][0]["free"]
    assert free == {"morning": False, "afternoon": True}
    assert client.delete(f"/api/v1/desk-bookings/{created.json['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/desk-bookings/{created.json['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize("body", [
    None, [], {"desk": "d1"}, {"desk": "d1", "date": "2026-13-01", "part": "day"},
    {"desk": "d1", "date": "x", "part": "day"}, {"desk": 5, "date": "2030-01-01", "part": "day"},
    {"desk": "nope", "date": "2030-01-01", "part": "day"}, {"desk": "d1", "date": "2030-01-07", "part": "noon"},
])
def test_api_bad_desk_input_is_4xx_json(setup, client, body):
    user, _anna = make_person()
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    response = client.post("/api/v1/desk-bookings", json=body, headers=headers) if body is not None else \
        client.post("/api/v1/desk-bookings", data="not json", headers=headers)
    assert 400 <= response.status_code < 500
    assert response.json["error"] and response.json["detail"]


def test_api_rooms(setup, client):
    user, _anna = make_person()
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    day = open_day(1)
    body = {"room": "r1", "start": at(day, 9).isoformat(), "end": at(day, 10).isoformat(), "title": "Team"}
    created = client.post("/api/v1/room-bookings", json=body, headers=headers)
    assert created.status_code == 201, created.json
    overlap = client.post("/api/v1/room-bookings", json={**body, "start": at(day, 9, 45).isoformat(),
                                                          "end": at(day, 10, 15).isoformat()}, headers=headers)
    assert overlap.status_code == 409
    availability = client.get(f"/api/v1/rooms/r1/availability?date={day.isoformat()}", headers=headers)
    assert availability.status_code == 200
    assert availability.json["busy"] == [{"start": at(day, 9).astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                          "end": at(day, 10).astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                          "source": "booking"}]
    for bad in [{**body, "start": "nine"}, {**body, "title": ""}, {**body, "attendees": "many"},
                {**body, "room": "nope"}, {**body, "start": body["end"], "end": body["start"]}]:
        response = client.post("/api/v1/room-bookings", json=bad, headers=headers)
        assert 400 <= response.status_code < 500, (bad, response.status_code)
    assert client.get("/api/v1/rooms/r1/availability?date=bad", headers=headers).status_code == 400
    assert client.delete(f"/api/v1/room-bookings/{created.json['id']}", headers=headers).status_code == 204


def test_api_needs_staff_and_valid_token(setup, client):
    day = open_day(1).isoformat()
    assert client.get(f"/api/v1/desks?date={day}").status_code == 401
    assert client.get(f"/api/v1/desks?date={day}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    user, _anna = make_person(roles="")
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    assert client.get(f"/api/v1/desks?date={day}", headers=headers).status_code == 403
    revoked = db.session.query(ApiToken).one()
    revoked.revoked_at = datetime.now(UTC)
    db.session.commit()
    assert client.get(f"/api/v1/desks?date={day}", headers=headers).status_code == 401


def test_api_accepts_a_staff_session(setup, client):
    user, _anna = make_person()
    login_as(client, user)
    day = open_day(1).isoformat()
    assert client.get(f"/api/v1/desks?date={day}").status_code == 200
    assert client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": day, "part": "day"}).status_code == 201


def test_session_api_write_needs_csrf_when_enabled(setup, client, app):
    user, _anna = make_person()
    login_as(client, user)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        day = open_day(1).isoformat()
        response = client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": day, "part": "day"})
        assert response.status_code == 400 and response.json["error"] == "csrf_failed"
        token = token_for(user)
        response = client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": day, "part": "day"},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_personal_feed(setup, client):
    _user, anna = make_person()
    day = open_day(1)
    desks.book_desk(anna, "d1", day, "day")
    rooms.book_room(anna, "r1", at(day, 9), at(day, 10), "Jour fixe")
    token = feeds.create_feed_token(anna)
    from staff_calendar.spaces.models import FeedToken

    assert db.session.query(FeedToken).one().token_hash == hashlib.sha256(token.encode()).hexdigest()
    response = client.get(f"/arbeitsplaetze/kalender/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    from icalendar import Calendar

    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    transp = {str(e["SUMMARY"]): str(e.get("TRANSP", "OPAQUE")) for e in events}
    assert transp["Jour fixe"] == "OPAQUE"
    assert transp["Arbeitsplatz Platz d1"] == "TRANSPARENT"
    new_token = feeds.create_feed_token(anna)
    assert client.get(f"/arbeitsplaetze/kalender/{token}.ics").status_code == 404
    feeds.revoke_feed_token(anna)
    assert client.get(f"/arbeitsplaetze/kalender/{new_token}.ics").status_code == 404


def test_feed_page_flow(setup, client):
    user, _anna = make_person()
    login_as(client, user)
    response = client.post("/arbeitsplaetze/kalender-abo")
    assert response.status_code == 200 and "/arbeitsplaetze/kalender/" in response.get_data(as_text=True)
    assert client.post("/arbeitsplaetze/kalender-abo/widerrufen").status_code == 303


def test_whos_in_shows_only_my_team_and_opted_in(setup, client):
    user, anna = make_person("anna", team="it", show_presence=True)
    _u, ben = make_person("ben", team="it", show_presence=True)
    _u, cleo = make_person("cleo", team="it", show_presence=False)
    _u, dan = make_person("dan", team="hr", show_presence=True)
    floor = setup["floor"]
    for key in ("d2", "d3", "d4"):
        make_desk(floor, key)
    day = open_day(1)
    desks.book_desk(ben, "d1", day, "day")
    desks.book_desk(cleo, "d2", day, "day")
    desks.book_desk(dan, "d3", day, "morning")
    people = presence.whos_in(anna, day, day)
    assert [p.name for p in people[day]] == ["Ben"]
    login_as(client, user)
    page = client.get(f"/arbeitsplaetze/wer-ist-da?week={day.isoformat()}").get_data(as_text=True)
    assert "Ben" in page and "Cleo" not in page and "Dan" not in page
    client.post("/arbeitsplaetze/sichtbarkeit", data={"visible": "0"})
    assert presence.my_team_and_visibility(anna) == ("it", False)


def test_occupancy_is_aggregate_and_k_anonymous(setup, client):
    floor = setup["floor"]
    for n in range(2, 6):
        make_desk(floor, f"d{n}")
    day = open_day(1)
    actors = [make_person(f"p{n}")[1] for n in range(4)]
    for n, actor in enumerate(actors):
        desks.book_desk(actor, f"d{n + 1}", day, "morning")
    desks.book_desk(actors[0], "d1", day, "afternoon")
    rows, k = occupancy.occupancy(day, day)
    assert k == 3
    [row] = rows
    assert (row.desks, row.morning, row.afternoon) == (5, 4, None)
    csv_text = occupancy.occupancy_csv(day, day)
    assert "<3" in csv_text and "p0" not in csv_text
    admin, _root = make_person("root", roles="admin")
    login_as(client, admin)
    page = client.get(f"/arbeitsplaetze/verwaltung?from={day}&to={day}")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    csv_response = client.get(f"/arbeitsplaetze/verwaltung/auslastung.csv?from={day}&to={day}")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"


def test_admin_pages_need_admin(setup, client):
    user, _anna = make_person()
    login_as(client, user)
    assert client.get("/arbeitsplaetze/verwaltung").status_code == 403
    assert client.get("/arbeitsplaetze/verwaltung/platz/d1/qr").status_code == 403


def test_qr_page_and_check_in_form(setup, client):
    admin, root = make_person("root", roles="admin")
    login_as(client, admin)
    page = client.get("/arbeitsplaetze/verwaltung/platz/d1/qr").get_data(as_text=True)
    assert "<svg" in page and "/arbeitsplaetze/platz/d1/einchecken" in page
    # no booking today: a clear 404 page, not a crash
    assert client.post("/arbeitsplaetze/platz/d1/einchecken").status_code == 404
    from staff_calendar.spaces.services.common import today_local

    desk = make_desk(setup["floor"], "dq")
    db.session.add(DeskBooking(desk_id=desk.id, user_id=root.id, day=today_local(), half="morning", group_uid="q"))
    db.session.commit()
    assert client.post("/arbeitsplaetze/platz/dq/einchecken").status_code == 303
    assert db.session.query(DeskBooking).one().checked_in_at is not None


def test_block_forms(setup, client):
    admin, _root = make_person("root", roles="admin")
    login_as(client, admin)
    day = open_day(1).isoformat()
    response = client.post("/arbeitsplaetze/verwaltung/sperren",
                           data={"target": "room:r1", "first_day": day, "last_day": day, "reason": "Renovierung"})
    assert response.status_code == 303
    page = client.get("/arbeitsplaetze/verwaltung").get_data(as_text=True)
    assert "Renovierung" in page
    bad = client.post("/arbeitsplaetze/verwaltung/sperren", data={"target": "", "first_day": day, "reason": "x"})
    assert bad.status_code == 400
    assert db.session.query(RoomBooking).count() == 0


def test_api_answer_cache_never_hides_a_change(setup, client, app):
    """With the layout cache on, a new booking, a cancellation and a block show at once."""
    from staff_calendar.spaces.services import blocks

    app.config["SPACES_CACHE_SECONDS"] = 60
    user, anna = make_person()
    _admin, root = make_person("root", roles="admin")
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    day = open_day(1)
    url = f"/api/v1/desks?date={day.isoformat()}"

    def free():
        return client.get(url, headers=headers).json["desks"][0]["free"]

    assert free() == {"morning": True, "afternoon": True}
    rows = desks.book_desk(anna, "d1", day, "morning")
    assert free() == {"morning": False, "afternoon": True}
    desks.cancel_desk_booking(anna, rows[0].id)
    assert free() == {"morning": True, "afternoon": True}
    desks.book_desk(anna, "d1", day, "afternoon")
    assert free() == {"morning": True, "afternoon": False}
    blocks.create_block(root, desk_key="d1", room_key=None, first_day=day, last_day=day, reason="Umbau")
    body = client.get(url, headers=headers).json["desks"][0]
    assert body["free"] == {"morning": False, "afternoon": False} and body["blocked"] == "Umbau"
