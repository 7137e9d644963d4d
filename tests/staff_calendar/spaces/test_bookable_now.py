"""Issue 9, item 1: the desk and room pages offer exactly what the services accept at that moment:
past half days and grid times are not offered, the pages open on the first day that still offers
something, and the JSON API's ``bookable`` flags say the same. Every test sets the clock (the
``clock`` fixture) to the moments the issue names, so none of them depends on the hour it runs at."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest

from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.models import RoomBooking
from staff_calendar.spaces.services import bookable, rooms
from staff_calendar.spaces.services.common import load_settings
from tests.staff_calendar.spaces.factories import BERLIN, login_as, make_desk, make_floor, make_room, make_site
from tests.staff_calendar.spaces.test_desks import make_person

WEDNESDAY = date(2026, 11, 25)
HALF_OVER = "Dieser Halbtag ist schon vorbei."

# (local moment, the day the desk page opens on, the parts offered on it)
DESK_MOMENTS = [
    ((WEDNESDAY, 12, 29), WEDNESDAY, {"day", "morning", "afternoon"}),
    ((WEDNESDAY, 12, 30), WEDNESDAY, {"afternoon"}),
    ((WEDNESDAY, 13, 0), WEDNESDAY, {"afternoon"}),
    ((WEDNESDAY, 16, 59), WEDNESDAY, {"afternoon"}),
    ((WEDNESDAY, 17, 0), date(2026, 11, 26), {"day", "morning", "afternoon"}),
    ((date(2026, 11, 27), 20, 30), date(2026, 11, 30), {"day", "morning", "afternoon"}),  # a Friday evening
    ((date(2026, 11, 29), 23, 55), date(2026, 11, 30), {"day", "morning", "afternoon"}),  # a Sunday night
    ((date(2026, 3, 30), 7, 55), date(2026, 3, 30), {"day", "morning", "afternoon"}),  # Monday after DST
    ((date(2026, 12, 31), 23, 50), date(2027, 1, 4), {"day", "morning", "afternoon"}),  # New Year: holiday, weekend
]

DESK_FORM = re.compile(r'name="desk" value="([^"]+)">\s*<input type="hidden" name="date" value="([^"]+)">'
                       r'\s*<input type="hidden" name="part" value="([^"]+)">')
SELECTED_DAY = re.compile(r'<option value="(\d{4}-\d\d-\d\d)" selected>')


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def desk_site(app, client, calendar_calls):
    make_site(bundesland="BW")
    floor = make_floor("f1")
    for key in ("d1", "d2", "d3"):
        make_desk(floor, key)
    user, actor = make_person()
    login_as(client, user)
    return actor


def offered(html: str) -> set[tuple[str, str, str]]:
    return set(DESK_FORM.findall(html))


@pytest.mark.parametrize(("moment", "opens_on", "parts"), DESK_MOMENTS)
def test_desk_page_opens_on_the_next_bookable_day_and_offers_only_what_can_be_booked(
        desk_site, client, clock, moment, opens_on, parts):
    clock.set(*moment)
    html = client.get("/arbeitsplaetze/buchen").get_data(as_text=True)
    assert SELECTED_DAY.findall(html) == [opens_on.isoformat()]
    forms = offered(html)
    assert {day for _desk, day, _part in forms} == {opens_on.isoformat()}
    assert {part for desk, _day, part in forms if desk == "d1"} == parts
    assert bool(re.search(r"<td[^>]*>\s*vorbei\s*</td>", html)) == ("morning" not in parts)  # an over half says so
    # the booking service accepts every choice the page offers ...
    settings = load_settings()
    for part in parts:
        halves = ("morning", "afternoon") if part == "day" else (part,)
        assert bookable.desk_refusal(settings, opens_on, halves, clock()) is None, part
    # ... and the choices the page does not offer on that day are refused with one clear message
    for part in {"day", "morning", "afternoon"} - parts:
        refused = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": opens_on.isoformat(), "part": part})
        assert refused.status_code == 400 and refused.get_data(as_text=True).count(HALF_OVER) == 1
    # a past day asked for by address opens the first bookable day instead
    past = client.get(f"/arbeitsplaetze/buchen?date={(opens_on - timedelta(days=7)).isoformat()}")
    assert SELECTED_DAY.findall(past.get_data(as_text=True)) == [opens_on.isoformat()]
    booked = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": opens_on.isoformat(),
                                                         "part": sorted(parts)[0]})
    assert booked.status_code == 303


def test_today_leaves_the_day_list_when_over_and_the_overview_marks_over_halves(desk_site, client, clock):
    clock.set(WEDNESDAY, 20, 30)
    html = client.get("/arbeitsplaetze/buchen").get_data(as_text=True)
    assert f'value="{WEDNESDAY.isoformat()}"' not in html
    clock.set(WEDNESDAY, 13, 0)
    html = client.get("/arbeitsplaetze/buchen").get_data(as_text=True)
    row = re.search(rf'date={WEDNESDAY.isoformat()}[^<]*">[^<]*</a></th>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == ["vorbei", "3"]


def test_the_refusal_is_said_once(desk_site, client, clock):
    clock.set(WEDNESDAY, 13, 0)
    response = client.post("/arbeitsplaetze/buchen", data={"desk": "d1", "date": WEDNESDAY.isoformat(),
                                                           "part": "morning"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html.count(HALF_OVER) == 1
    assert 'id="error-summary"' in html


def test_series_starts_on_the_first_bookable_day(desk_site, client, clock):
    clock.set(date(2026, 11, 27), 20, 30)
    html = client.get("/arbeitsplaetze/buchen").get_data(as_text=True)
    assert re.search(r'id="series-first" name="first_day" value="2026-11-30" min="2026-11-30"', html)


def test_api_bookable_flags_follow_the_clock_and_the_answer_cache(app, desk_site, client, clock):
    app.config["SPACES_CACHE_SECONDS"] = 60  # the answer cache must not keep flags of an earlier hour
    url = f"/api/v1/desks?date={WEDNESDAY.isoformat()}&floor=f1"

    def desk_one() -> dict:
        return client.get(url).json["desks"][0]

    clock.set(WEDNESDAY, 12, 0)
    assert desk_one()["bookable"] == {"morning": True, "afternoon": True}
    clock.set(WEDNESDAY, 13, 0)
    assert desk_one()["bookable"] == {"morning": False, "afternoon": True}
    assert desk_one()["free"] == {"morning": True, "afternoon": True}
    clock.set(WEDNESDAY, 17, 0)
    assert desk_one()["bookable"] == {"morning": False, "afternoon": False}
    refused = client.post("/api/v1/desk-bookings", json={"desk": "d1", "date": WEDNESDAY.isoformat(),
                                                         "part": "afternoon"})
    assert refused.status_code == 400 and refused.json["error"] == "past"


# --- rooms ---------------------------------------------------------------------------------------

@pytest.fixture
def room_site(app, client, calendar_calls):
    make_site(bundesland="BW")
    floor = make_floor("f1")
    db.session.add(CalendarLink(key="room:r1", owner_kind="room", owner_key="r1", url="http://127.0.0.1:1/r1/"))
    db.session.commit()
    room = make_room(floor, "r1", calendar_key="room:r1")
    user, actor = make_person()
    login_as(client, user)
    return room, actor, calendar_calls


def choices(html: str, field: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="room-{field}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="(\d\d:\d\d)"', select)


def selected(html: str, field: str) -> str:
    select = re.search(rf'<select[^>]*id="room-{field}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="(\d\d:\d\d)" selected>', select).group(1)


@pytest.mark.parametrize(("moment", "opens_on", "first_start"), [
    ((WEDNESDAY, 9, 7), WEDNESDAY, "09:15"),
    ((WEDNESDAY, 9, 15), WEDNESDAY, "09:15"),
    ((WEDNESDAY, 18, 44), WEDNESDAY, "18:45"),
    ((WEDNESDAY, 18, 46), date(2026, 11, 26), "07:00"),  # no quarter hour left before 19:00
    ((date(2026, 11, 27), 20, 30), date(2026, 11, 30), "07:00"),
    ((date(2026, 11, 29), 23, 55), date(2026, 11, 30), "07:00"),
    ((date(2026, 3, 30), 7, 55), date(2026, 3, 30), "08:00"),
    ((date(2026, 12, 31), 23, 50), date(2027, 1, 4), "07:00"),
])
def test_room_page_offers_only_times_still_ahead(room_site, client, clock, moment, opens_on, first_start):
    clock.set(*moment)
    html = client.get("/arbeitsplaetze/raeume").get_data(as_text=True)
    assert SELECTED_DAY.findall(html) == [opens_on.isoformat()]
    starts, ends = choices(html, "start"), choices(html, "end")
    assert starts[0] == first_start and starts[-1] == "18:45" and ends[-1] == "19:00"
    assert ends[0] == (datetime.combine(opens_on, time.fromisoformat(first_start)) + timedelta(minutes=15)
                       ).strftime("%H:%M")
    # the preselected range is one the service accepts
    response = client.post("/arbeitsplaetze/raeume/buchen", data={
        "date": opens_on.isoformat(), "room": "r1", "start": selected(html, "start"), "end": selected(html, "end"),
        "title": "Jour fixe", "attendees": "2"})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_room_times_leave_out_busy_time_and_the_api_says_what_is_bookable(room_site, client, clock):
    _room, _actor, calendar_calls = room_site
    calendar_calls.busy["room:r1"] = [(local(WEDNESDAY, 9, 15), local(WEDNESDAY, 10, 7))]
    clock.set(WEDNESDAY, 9, 7)
    html = client.get("/arbeitsplaetze/raeume").get_data(as_text=True)
    assert choices(html, "start")[:2] == ["10:15", "10:30"]
    body = client.get(f"/api/v1/rooms/r1/availability?date={WEDNESDAY.isoformat()}").json
    assert body["bookable"] == [{"start": "2026-11-25T09:15:00Z", "end": "2026-11-25T18:00:00Z"}]
    refused = client.post("/arbeitsplaetze/raeume/buchen", data={
        "date": WEDNESDAY.isoformat(), "room": "r1", "start": "09:00", "end": "09:15", "title": "Zu spät"})
    assert refused.status_code == 400
    assert refused.get_data(as_text=True).count("Dieser Zeitraum liegt in der Vergangenheit.") == 1


def test_a_room_booking_that_is_over_shows_no_cancel_button(room_site, client, clock):
    room, actor, _calls = room_site
    db.session.add(RoomBooking(room_id=room.id, user_id=actor.id, start_at=local(WEDNESDAY, 8),
                               end_at=local(WEDNESDAY, 9), title="Frühbesprechung", uid="early"))
    db.session.commit()
    clock.set(WEDNESDAY, 8, 30)
    assert "Stornieren<span class=\"visually-hidden\">: Frühbesprechung" in client.get("/arbeitsplaetze/").get_data(
        as_text=True)
    clock.set(WEDNESDAY, 9, 0)
    html = client.get("/arbeitsplaetze/").get_data(as_text=True)
    assert "Frühbesprechung" in html and "Stornieren<span class=\"visually-hidden\">: Frühbesprechung" not in html
    booking = db.session.query(RoomBooking).filter_by(uid="early").one()
    assert not rooms.cancellable(booking, clock())


# --- the rule itself -----------------------------------------------------------------------------

def test_grid_and_subtract(app):
    assert bookable.grid_ceil(local(WEDNESDAY, 9, 7)) == local(WEDNESDAY, 9, 15)
    assert bookable.grid_ceil(local(WEDNESDAY, 9, 15)) == local(WEDNESDAY, 9, 15)
    assert bookable.grid_floor(local(WEDNESDAY, 9, 14)) == local(WEDNESDAY, 9, 0)
    ranges = [(local(WEDNESDAY, 8), local(WEDNESDAY, 12))]
    busy = [(local(WEDNESDAY, 8, 50), local(WEDNESDAY, 9, 5)), (local(WEDNESDAY, 11, 50), local(WEDNESDAY, 13))]
    assert bookable.subtract(ranges, busy) == [(local(WEDNESDAY, 8), local(WEDNESDAY, 8, 45)),
                                               (local(WEDNESDAY, 9, 15), local(WEDNESDAY, 11, 45))]


def test_time_choices_preselect_nine_to_ten_when_free_else_the_first(app):
    free = [[(local(WEDNESDAY, 8), local(WEDNESDAY, 11))]]
    starts, ends, start, end = bookable.time_choices(free)
    assert starts[0] == "08:00" and starts[-1] == "10:45" and ends[0] == "08:15" and ends[-1] == "11:00"
    assert (start, end) == ("09:00", "10:00")
    _starts, _ends, start, end = bookable.time_choices([[(local(WEDNESDAY, 14), local(WEDNESDAY, 14, 30))]])
    assert (start, end) == ("14:00", "14:15")
    assert bookable.time_choices([[]]) == ([], [], "", "")
