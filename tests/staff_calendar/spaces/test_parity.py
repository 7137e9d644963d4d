"""Parity: each desk and room booking scenario through the HTML form and through the JSON API gives
the same outcome and the same field messages (one schema, one service)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.extensions import db
from staff_calendar.spaces.models import DeskBooking, RoomBooking
from staff_calendar.spaces.services import desks, rooms
from tests.fixtures.form_errors import Outcome, api_outcome, page_outcome, rendered_pages
from tests.staff_calendar.spaces.factories import login_as, make_desk, make_floor, make_room, make_site, open_day
from tests.staff_calendar.spaces.test_desks import make_person
from tests.staff_calendar.spaces.test_rooms_api_feeds import at

VIA = pytest.mark.parametrize("via", ["html", "api"])
REQUIRED = "Dieses Feld ist erforderlich."


@pytest.fixture
def person(app, client, calendar_calls):
    make_site()
    floor = make_floor("f1")
    make_desk(floor, "d1")
    make_room(floor, "r1", capacity=4)
    user, actor = make_person()
    login_as(client, user)
    return {"actor": actor, "token": create_api_token(user.username, "parity")}


def send(client, person, via: str, html_path: str, html_form: dict[str, Any], api_path: str,
         api_body: dict[str, Any]) -> Outcome:
    """(status, field messages, message); a successful write is ``"done"`` on both ways."""
    if via == "api":
        return api_outcome(client.post(api_path, json=api_body,
                                       headers={"Authorization": f"Bearer {person['token']}"}))
    with rendered_pages(client.application) as pages:
        return page_outcome(client.post(html_path, data=html_form), pages)


# --- desks -------------------------------------------------------------------------------------------

def book_desk(client, person, via: str, values: dict[str, Any]):
    html_form = {key: value for key, value in values.items() if value is not None}
    return send(client, person, via, "/arbeitsplaetze/buchen", html_form, "/api/v1/desk-bookings", html_form)


def _desk_rows() -> list[tuple]:
    return [(row.desk.key, row.day, row.half) for row in db.session.query(DeskBooking).order_by(DeskBooking.half)]


@VIA
def test_desk_booking_valid(person, client, via):
    day = open_day(1)
    assert book_desk(client, person, via, {"desk": "d1", "date": day.isoformat(), "part": "morning"}) == (
        "done", {}, "")
    assert _desk_rows() == [("d1", day, "morning")]


DESK_BAD_INPUT = [
    ({"date": "morgen", "part": "x"}, {"date": "Bitte ein Datum im Format JJJJ-MM-TT angeben.",
                                       "part": "Bitte wählen Sie ganzer Tag, Vormittag oder Nachmittag."}),
    ({"desk": ""}, {"desk": REQUIRED}),
    ({"date": "2030-02-30"}, {"date": "Dieses Datum gibt es nicht."}),
    ({"date": "beyond"}, {"date": "Sie können höchstens 14 Tage im Voraus buchen."}),
    ({"date": "saturday"}, {"date": "An diesem Tag kann nicht gebucht werden: Wochenende."}),
]


@VIA
@pytest.mark.parametrize(("change", "fields"), DESK_BAD_INPUT)
def test_desk_booking_bad_input(person, client, via, change, fields):
    day = open_day(1)
    days = {"beyond": open_day(20), "saturday": day + timedelta(days=5 - day.weekday())}
    values = {"desk": "d1", "date": day.isoformat(), "part": "day", **change}
    if values["date"] in days:
        values["date"] = days[values["date"]].isoformat()
    status, errors, _message = book_desk(client, person, via, values)
    assert (status, errors) == (400, fields)
    assert _desk_rows() == []


@VIA
def test_desk_booking_unknown_desk(person, client, via):
    status, errors, message = book_desk(client, person, via, {"desk": "nope", "date": open_day(1).isoformat()})
    assert (status, errors, message) == (404, {}, "Diesen Arbeitsplatz gibt es nicht.")


@VIA
def test_desk_booking_conflict(person, client, via):
    day = open_day(1)
    _other, other_actor = make_person("ben")
    desks.book_desk(other_actor, "d1", day, "afternoon")
    status, errors, message = book_desk(client, person, via, {"desk": "d1", "date": day.isoformat(), "part": "day"})
    assert (status, errors, message) == (409, {}, "Dieser Arbeitsplatz ist zu dieser Zeit schon gebucht.")
    assert _desk_rows() == [("d1", day, "afternoon")]


# --- rooms -------------------------------------------------------------------------------------------

def book_room(client, person, via: str, day, start: str, end: str, **values: Any):
    """The room form sends the day and two times of day; an API client sends date-times (here without
    an offset, which is site time)."""
    html_form = {"room": "r1", "date": day.isoformat(), "start": start, "end": end, "title": "Jour fixe", **values}
    api_body = {**{k: v for k, v in html_form.items() if k != "date"},
                "start": f"{day.isoformat()}T{start}" if ":" in start else start,
                "end": f"{day.isoformat()}T{end}" if ":" in end else end}
    return send(client, person, via, "/arbeitsplaetze/raeume/buchen", html_form, "/api/v1/room-bookings", api_body)


@VIA
def test_room_booking_valid(person, client, via):
    day = open_day(1)
    assert book_room(client, person, via, day, "09:00", "10:30", attendees="3") == ("done", {}, "")
    booking = db.session.query(RoomBooking).one()
    assert (booking.start_at, booking.end_at, booking.title, booking.attendees) == (
        at(day, 9), at(day, 10, 30), "Jour fixe", 3)


ROOM_BAD_INPUT = [
    (("09:00", "10:00"), {"title": ""}, {"title": REQUIRED}),
    (("09:00", "10:00"), {"attendees": "viele"}, {"attendees": "Bitte eine ganze Zahl angeben."}),
    (("09:00", "10:00"), {"attendees": "7"}, {"attendees": "Der Raum bietet Platz für höchstens 4 Personen."}),
    (("09:10", "10:00"), {}, {"start": "Bitte wählen Sie eine Zeit im Viertelstundentakt."}),
    (("10:00", "09:00"), {}, {"end": "Das Ende muss nach dem Beginn liegen."}),
    (("nine", "10:00"), {}, {"start": "Bitte eine Zeit nach RFC 3339 mit Zeitzone angeben."}),
    (("20:00", "21:00"), {}, {"start": "Der Raum ist zu dieser Zeit nicht buchbar (Öffnungszeiten, Feiertage, "
                                       "Schließtage)."}),
]


@VIA
@pytest.mark.parametrize(("times", "change", "fields"), ROOM_BAD_INPUT)
def test_room_booking_bad_input(person, client, via, times, change, fields):
    status, errors, _message = book_room(client, person, via, open_day(1), *times, **change)
    assert (status, errors) == (400, fields)
    assert db.session.query(RoomBooking).count() == 0


@VIA
def test_room_booking_conflict(person, client, via):
    day = open_day(1)
    _other, other_actor = make_person("ben")
    rooms.book_room(other_actor, "r1", at(day, 9), at(day, 10), "Vorher da")
    status, errors, message = book_room(client, person, via, day, "09:30", "10:30")
    assert (status, errors, message) == (409, {}, "Der Raum ist zu dieser Zeit schon belegt.")
    assert [booking.title for booking in db.session.query(RoomBooking)] == ["Vorher da"]
