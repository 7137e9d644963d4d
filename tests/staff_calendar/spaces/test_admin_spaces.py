"""Admin pages "Räume und Plätze" (issue 5, item 1): edit floors, desks and rooms, create desks and
rooms; the admin role is required, every rule re-renders the form with a message (German and
English), deactivating keeps bookings, CSRF is enforced; axe finds nothing in Chromium."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest

from citizen_portal.core.extensions import db
from staff_calendar.calendars.models import CalendarLink
from staff_calendar.spaces.admin_schemas import parse_day_ranges
from staff_calendar.spaces.models import Desk, DeskBooking, Floor, Room, RoomBooking
from staff_calendar.spaces.services.common import local_moment
from tests.factories import build_app, login, make_user
from tests.staff_calendar.spaces.factories import login_as, make_desk, make_floor, make_room, make_site, open_day

BASE = "/arbeitsplaetze/verwaltung/raeume-und-plaetze"


@pytest.fixture
def setup(app, client):
    make_site()
    floor = make_floor("f1", desk_days_per_week=2)
    desk = make_desk(floor, "d1", label="Fenster 1", attributes=["monitor", "docking"], x=10, y=20)
    room = make_room(floor, "r1", capacity=8, attributes=["projector"],
                     opening_hours={"mon": ["08:00-12:00", "13:00-18:00"]})
    admin = make_user("anna", roles="admin")
    login_as(client, admin)
    return {"floor": floor, "desk": desk, "room": room, "admin": admin}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _desk_form(**overrides):
    form = {"label": "Fenster 1", "attributes": ["monitor"], "more_attributes": "docking", "x": "10", "y": "20",
            "active": "1"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _room_form(**overrides):
    form = {"name_de": "Sitzungssaal", "name_en": "Council chamber", "capacity": "12", "attributes": ["projector"],
            "more_attributes": "", "hours.mon": "08:00-12:00, 13:00-18:00", "active": "1"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# --- access ----------------------------------------------------------------------------------------

def test_admin_role_required(app, client):
    make_site()
    floor = make_floor("f1")
    make_desk(floor, "d1")
    make_room(floor, "r1")
    paths = [f"{BASE}/", f"{BASE}/etagen/f1", f"{BASE}/plaetze/d1", f"{BASE}/raeume/r1",
             f"{BASE}/etagen/f1/neuer-platz", f"{BASE}/etagen/f1/neuer-raum"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/anmelden" in response.headers["Location"], path
    login_as(client, make_user("ben", roles="staff"))
    for path in paths:
        assert client.get(path).status_code == 403, path
    assert client.post(f"{BASE}/plaetze/d1", data=_desk_form(label="Gekapert")).status_code == 403
    assert db.session.execute(db.select(Desk.label).where(Desk.key == "d1")).scalar_one() != "Gekapert"


def test_overview_lists_floors_desks_rooms_and_says_the_site_file_wins(setup, client):
    page = _text(client.get(f"{BASE}/"))
    for text in ("Etage f1", "Fenster 1", "Raum r1", "flask site load", f"{BASE}/plaetze/d1", f"{BASE}/raeume/r1",
                 f"{BASE}/etagen/f1/neuer-platz", f"{BASE}/etagen/f1/neuer-raum"):
        assert text in page
    assert f"{BASE}/" in _text(client.get("/arbeitsplaetze/verwaltung"))
    client.set_cookie("lang", "en")
    page = _text(client.get(f"{BASE}/"))
    assert "Floor f1" in page and "Administration: rooms and desks" in page
    assert "flask site load" in page and "The site file remains the source" in page


# --- edit and create -------------------------------------------------------------------------------

def test_edit_floor(setup, client):
    page = _text(client.get(f"{BASE}/etagen/f1"))
    assert 'value="Etage f1"' in page and 'value="2"' in page
    response = client.post(f"{BASE}/etagen/f1", data={"name_de": "Erdgeschoss", "name_en": "Ground floor",
                                                      "desk_days_per_week": "", "active": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{BASE}/")
    floor = db.session.execute(db.select(Floor).where(Floor.key == "f1")).scalar_one()
    assert floor.name == {"de": "Erdgeschoss", "en": "Ground floor"}
    assert floor.desk_days_per_week is None and floor.active


def test_edit_desk(setup, client):
    page = _text(client.get(f"{BASE}/plaetze/d1"))
    assert 'value="docking"' in page and 'value="10"' in page
    response = client.post(f"{BASE}/plaetze/d1", data=_desk_form(
        label="Stehplatz", attributes=["standing", "accessible"], more_attributes="window, docking window",
        x="12,5", y="99"))
    assert response.status_code == 303
    desk = db.session.execute(db.select(Desk).where(Desk.key == "d1")).scalar_one()
    assert desk.label == "Stehplatz"
    assert desk.attributes == ["accessible", "docking", "standing", "window"]
    assert (desk.x, desk.y, desk.active) == (12.5, 99.0, True)
    # both coordinates empty removes the desk from the floor plan
    client.post(f"{BASE}/plaetze/d1", data=_desk_form(x="", y=""))
    db.session.refresh(desk)
    assert desk.x is None and desk.y is None


def test_create_desk(setup, client):
    assert client.get(f"{BASE}/etagen/f1/neuer-platz").status_code == 200
    response = client.post(f"{BASE}/etagen/f1/neuer-platz", data=_desk_form(key="f1-07", label="", x="", y=""))
    assert response.status_code == 303
    desk = db.session.execute(db.select(Desk).where(Desk.key == "f1-07")).scalar_one()
    assert desk.floor_id == setup["floor"].id and desk.label is None and desk.active
    assert desk.attributes == ["docking", "monitor"]
    # the new desk is bookable at once (the page's desk list is not cached stale)
    page = _text(client.get(f"/arbeitsplaetze/buchen?date={open_day(1).isoformat()}"))
    assert "f1-07" in page


def test_edit_room(setup, client):
    page = _text(client.get(f"{BASE}/raeume/r1"))
    assert 'value="08:00-12:00, 13:00-18:00"' in page and "keiner" in page
    response = client.post(f"{BASE}/raeume/r1", data=_room_form(
        **{"hours.mon": "13:00-18:00;8:00-12:00", "hours.fri": "09:00-12:00", "more_attributes": "screen"}))
    assert response.status_code == 303
    room = db.session.execute(db.select(Room).where(Room.key == "r1")).scalar_one()
    assert room.name == {"de": "Sitzungssaal", "en": "Council chamber"}
    assert room.capacity == 12 and room.attributes == ["projector", "screen"]
    assert room.opening_hours == {"mon": ["08:00-12:00", "13:00-18:00"], "fri": ["09:00-12:00"]}
    # every weekday empty: the default hours again
    client.post(f"{BASE}/raeume/r1", data=_room_form(**{"hours.mon": ""}))
    db.session.refresh(room)
    assert room.opening_hours is None


def test_room_calendar_is_shown_read_only_and_kept(setup, client):
    db.session.add(CalendarLink(key="room:r1", owner_kind="room", owner_key="r1",
                                url="http://127.0.0.1:9/geheim/r1/", secret_env="ROOM_SECRET"))
    db.session.commit()
    setup["room"].calendar_key = "room:r1"
    db.session.commit()
    page = _text(client.get(f"{BASE}/raeume/r1"))
    assert "room:r1" in page and 'name="calendar' not in page
    assert "geheim" not in page and "ROOM_SECRET" not in page
    assert client.post(f"{BASE}/raeume/r1", data=_room_form(calendar="")).status_code == 303
    assert db.session.execute(db.select(Room.calendar_key).where(Room.key == "r1")).scalar_one() == "room:r1"


def test_create_room(setup, client):
    response = client.post(f"{BASE}/etagen/f1/neuer-raum", data=_room_form(key="besprechung.3", name_en=""))
    assert response.status_code == 303
    room = db.session.execute(db.select(Room).where(Room.key == "besprechung.3")).scalar_one()
    assert room.name == {"de": "Sitzungssaal"} and room.capacity == 12 and room.calendar_key is None
    assert room.floor_id == setup["floor"].id


# --- validation ------------------------------------------------------------------------------------

MESSAGES = {
    "de": {"key_format": "Kleinbuchstaben a–z", "key_taken": "Diesen Schlüssel gibt es schon",
           "name": "deutschen Namen", "number": "ganze Zahl von", "position": "Zahl von 0 bis 100",
           "attribute": "Nicht als Merkmal möglich", "range_format": "„HH:MM-HH:MM“",
           "order": "Beginn muss vor dem Ende", "overlap": "nicht überschneiden", "summary": "Bitte korrigieren Sie"},
    "en": {"key_format": "lowercase letters a–z", "key_taken": "This key already exists",
           "name": "German name", "number": "whole number from", "position": "number from 0 to 100",
           "attribute": "Not possible as a feature", "range_format": "“HH:MM-HH:MM”",
           "order": "start must be before the end", "overlap": "must not overlap", "summary": "Please correct"},
}

CASES = [
    # (path, form, field id, message key)
    (f"{BASE}/etagen/f1", {"name_de": "", "active": "1"}, "field-name-de", "name"),
    (f"{BASE}/etagen/f1", {"name_de": "Etage", "desk_days_per_week": "8", "active": "1"},
     "field-desk-days-per-week", "number"),
    (f"{BASE}/etagen/f1", {"name_de": "Etage", "desk_days_per_week": "zwei"}, "field-desk-days-per-week", "number"),
    (f"{BASE}/etagen/f1/neuer-platz", _desk_form(key="Platz 7"), "field-key", "key_format"),
    (f"{BASE}/etagen/f1/neuer-platz", _desk_form(key=""), "field-key", "key_format"),
    (f"{BASE}/etagen/f1/neuer-platz", _desk_form(key="d1"), "field-key", "key_taken"),
    (f"{BASE}/plaetze/d1", _desk_form(x="101"), "field-x", "position"),
    (f"{BASE}/plaetze/d1", _desk_form(x="-1"), "field-x", "position"),
    (f"{BASE}/plaetze/d1", _desk_form(y="abc"), "field-y", "position"),
    (f"{BASE}/plaetze/d1", _desk_form(x="50", y=""), "field-y", "position"),
    (f"{BASE}/plaetze/d1", _desk_form(more_attributes="Höhenverstellbar"), "field-more-attributes", "attribute"),
    (f"{BASE}/plaetze/d1", _desk_form(label="x" * 101), "field-label", "number_of_chars"),
    (f"{BASE}/raeume/r1", _room_form(name_de=""), "field-name-de", "name"),
    (f"{BASE}/raeume/r1", _room_form(capacity="0"), "field-capacity", "number"),
    (f"{BASE}/raeume/r1", _room_form(capacity="501"), "field-capacity", "number"),
    (f"{BASE}/raeume/r1", _room_form(capacity=""), "field-capacity", "number"),
    (f"{BASE}/raeume/r1", _room_form(**{"hours.tue": "8-12"}), "field-hours-tue", "range_format"),
    (f"{BASE}/raeume/r1", _room_form(**{"hours.tue": "25:00-26:00"}), "field-hours-tue", "range_format"),
    (f"{BASE}/raeume/r1", _room_form(**{"hours.wed": "12:00-08:00"}), "field-hours-wed", "order"),
    (f"{BASE}/raeume/r1", _room_form(**{"hours.thu": "08:00-12:00, 11:00-14:00"}), "field-hours-thu", "overlap"),
    (f"{BASE}/etagen/f1/neuer-raum", _room_form(key="r1"), "field-key", "key_taken"),
    (f"{BASE}/etagen/f1/neuer-raum", _room_form(key="-raum"), "field-key", "key_format"),
]
LENGTH = {"de": "Höchstens 100 Zeichen", "en": "At most 100 characters"}


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(("path", "form", "field", "message"), CASES)
def test_every_rule_re_renders_the_form_with_a_message(setup, client, language, path, form, field, message):
    if language == "en":
        client.set_cookie("lang", "en")
    before = {
        "desks": db.session.execute(db.select(Desk.key, Desk.label, Desk.x, Desk.y, Desk.attributes)).all(),
        "rooms": db.session.execute(db.select(Room.key, Room.name, Room.capacity, Room.opening_hours)).all(),
        "floors": db.session.execute(db.select(Floor.name, Floor.desk_days_per_week)).all(),
    }
    response = client.post(path, data=form)
    page = _text(response)
    assert response.status_code == 400
    expected = LENGTH[language] if message == "number_of_chars" else MESSAGES[language][message]
    assert expected in page, (expected, re.findall(r'class="kern-body">[^<]*<', page))
    assert MESSAGES[language]["summary"] in page
    assert f'href="#{field}"' in page  # the error summary links to the field
    assert f'id="{field}"' in page and f'id="{field}-error"' in page and 'aria-invalid="true"' in page
    # the form keeps what was entered
    for value in (v for v in form.values() if isinstance(v, str) and v and len(v) < 50):
        assert value.replace("„", "").replace("&", "&amp;") in page or value in page
    assert before == {
        "desks": db.session.execute(db.select(Desk.key, Desk.label, Desk.x, Desk.y, Desk.attributes)).all(),
        "rooms": db.session.execute(db.select(Room.key, Room.name, Room.capacity, Room.opening_hours)).all(),
        "floors": db.session.execute(db.select(Floor.name, Floor.desk_days_per_week)).all(),
    }


def test_all_problems_are_reported_at_once(setup, client):
    page = _text(client.post(f"{BASE}/etagen/f1/neuer-raum", data=_room_form(
        key="R 1", name_de="", capacity="0", x="200", **{"hours.mon": "18:00-08:00"})))
    for field in ("field-key", "field-name-de", "field-capacity", "field-x", "field-y", "field-hours-mon"):
        assert f'href="#{field}"' in page, field
    assert "Bitte korrigieren Sie 6 Angaben" in page


@pytest.mark.parametrize(("text", "expected"), [
    ("", []), ("08:00-12:00", ["08:00-12:00"]), ("13:00-18:00, 8:00-12:00", ["08:00-12:00", "13:00-18:00"]),
    ("08:00-12:00,12:00-14:00", ["08:00-12:00", "12:00-14:00"]),  # touching is fine
])
def test_day_ranges(text, expected):
    assert parse_day_ranges(text) == expected


@pytest.mark.parametrize("text", ["08:00", "8-12", "08:00-24:00", "12:00-12:00", "08:00-12:00, 09:00-10:00"])
def test_day_ranges_rejected(text):
    with pytest.raises(ValueError):
        parse_day_ranges(text)


# --- deactivation keeps bookings -------------------------------------------------------------------

def test_deactivating_a_desk_keeps_its_bookings_and_says_how_many(setup, client):
    ben = make_user("ben")
    day = open_day(1)
    db.session.add_all([
        DeskBooking(desk_id=setup["desk"].id, user_id=ben.id, day=day, half="morning", group_uid="g1"),
        DeskBooking(desk_id=setup["desk"].id, user_id=ben.id, day=day, half="afternoon", group_uid="g1"),
        DeskBooking(desk_id=setup["desk"].id, user_id=ben.id, day=day - timedelta(days=30), half="morning",
                    group_uid="g0"),
    ])
    db.session.commit()
    assert "Künftige Buchungen dieses Platzes: 2" in _text(client.get(f"{BASE}/plaetze/d1"))
    response = client.post(f"{BASE}/plaetze/d1", data=_desk_form(active=None), follow_redirects=True)
    assert "2 künftige Buchungen bleiben bestehen" in _text(response)
    desk = db.session.execute(db.select(Desk).where(Desk.key == "d1")).scalar_one()
    assert desk.active is False
    assert db.session.execute(db.select(db.func.count()).select_from(DeskBooking)).scalar_one() == 3
    # the inactive desk is still listed and can be activated again
    assert "inaktiv" in _text(client.get(f"{BASE}/"))
    client.post(f"{BASE}/plaetze/d1", data=_desk_form())
    db.session.refresh(desk)
    assert desk.active is True


def test_deactivating_a_room_or_floor_keeps_bookings(setup, client):
    ben = make_user("ben")
    day = open_day(1)
    db.session.add(RoomBooking(room_id=setup["room"].id, user_id=ben.id, title="Jour fixe", uid="u1",
                               start_at=local_moment(day, time(9)), end_at=local_moment(day, time(10))))
    db.session.add(DeskBooking(desk_id=setup["desk"].id, user_id=ben.id, day=day, half="morning", group_uid="g1"))
    db.session.commit()
    client.set_cookie("lang", "en")
    response = client.post(f"{BASE}/raeume/r1", data=_room_form(active=None), follow_redirects=True)
    assert "1 future booking is kept" in _text(response)
    response = client.post(f"{BASE}/etagen/f1", data={"name_de": "Etage f1"}, follow_redirects=True)
    assert "2 future bookings are kept" in _text(response)
    assert db.session.execute(db.select(db.func.count()).select_from(RoomBooking)).scalar_one() == 1
    assert db.session.execute(db.select(db.func.count()).select_from(DeskBooking)).scalar_one() == 1
    assert db.session.execute(db.select(Floor.active).where(Floor.key == "f1")).scalar_one() is False


def test_unknown_entries_are_404(setup, client):
    for path in (f"{BASE}/etagen/nope", f"{BASE}/plaetze/nope", f"{BASE}/raeume/nope",
                 f"{BASE}/etagen/nope/neuer-platz", f"{BASE}/etagen/nope/neuer-raum"):
        assert client.get(path).status_code == 404, path


# --- CSRF ------------------------------------------------------------------------------------------

def test_csrf_is_enforced(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_site()
        floor = make_floor("f1")
        make_desk(floor, "d1", label="Alt")
        make_user("anna", roles="admin")
        db.session.commit()
    client = app.test_client()
    assert login(client, "anna").status_code in (302, 303)
    assert client.post(f"{BASE}/plaetze/d1", data=_desk_form(label="Ohne Token")).status_code == 400
    assert client.post(f"{BASE}/etagen/f1/neuer-platz", data=_desk_form(key="neu")).status_code == 400
    page = _text(client.get(f"{BASE}/plaetze/d1"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"{BASE}/plaetze/d1", data=_desk_form(label="Mit Token", csrf_token=token)).status_code == 303
    with app.app_context():
        assert db.session.execute(db.select(Desk.key, Desk.label).order_by(Desk.key)).all() == [("d1", "Mit Token")]
        db.session.remove()


# --- browser: axe in both languages ----------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("language", ["de", "en"])
def test_admin_pages_have_no_axe_violations(live_server, page, assert_no_axe_violations, language):
    with live_server.app.app_context():
        make_site()
        floor = make_floor("rathaus-2og")
        make_desk(floor, "2og-01", label="Fenster 1", attributes=["monitor", "standing"], x=10, y=20)
        make_room(floor, "sitzungssaal", capacity=8, attributes=["projector"])
        make_user("anna", roles="admin", password="Sehr-geheim-2026", display_name="Anna Admin")
        db.session.commit()
    base = live_server.url
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    page.goto(base + "/anmelden")
    page.fill("#username", "anna")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    for path in ["/", "/etagen/rathaus-2og", "/plaetze/2og-01", "/raeume/sitzungssaal",
                 "/etagen/rathaus-2og/neuer-platz", "/etagen/rathaus-2og/neuer-raum"]:
        page.goto(base + BASE + path)
        assert page.locator("html").get_attribute("lang") == language
        assert_no_axe_violations(page, f"{path} ({language})")

    # a failed save shows the error summary, linked to the fields; then a correct one saves
    page.goto(base + BASE + "/etagen/rathaus-2og/neuer-raum")
    page.locator("#field-key").fill("Großer Saal")
    page.locator("#field-capacity").fill("0")
    page.locator("#field-hours-mon").fill("18:00-08:00")
    page.locator("form.stack button[type=submit]").click()
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#error-summary a[href='#field-capacity']").count() == 1
    assert_no_axe_violations(page, f"room errors ({language})")
    page.locator("#field-key").fill("grosser-saal")
    page.locator("#field-name-de").fill("Großer Saal")
    page.locator("#field-capacity").fill("40")
    page.locator("#field-hours-mon").fill("08:00-18:00")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(BASE) + "/$"))
    assert "grosser-saal" in page.content()
    assert_no_axe_violations(page, f"overview after save ({language})")

    page.goto(base + BASE + "/plaetze/2og-01")
    page.locator("#field-x").fill("150")
    page.locator("form.stack button[type=submit]").click()
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"desk errors ({language})")
