"""Desk and room booking in Chromium (issue 5, item 9): log in, book and cancel a desk and a room
through the forms; axe-core finds no violations on any spaces page, in German and English."""

from __future__ import annotations

import re
from datetime import date

import pytest

from citizen_portal.core.extensions import db
from tests.factories import make_user
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room, make_site, open_day

pytestmark = pytest.mark.browser

TEXT = {
    "de": {"login": "Anmelden", "book_desk": r"^Buchen\W+Fenster 1, Ganzer Tag", "cancel": "Stornieren",
           "title": "Titel", "book_room": "Raum buchen", "start": "Beginn", "end": "Ende",
           "booked": "Gebucht", "room_booked": "Raum gebucht", "cancelled": "storniert"},
    "en": {"login": "Sign in", "book_desk": r"^Book\W+Fenster 1, Whole day", "cancel": "Cancel",
           "title": "Title", "book_room": "Book a room", "start": "Start", "end": "End",
           "booked": "Booked", "room_booked": "Room booked", "cancelled": "cancelled"},
}


@pytest.fixture
def spaces_server(live_server):
    with live_server.app.app_context():
        make_site()
        floor = make_floor("rathaus-2og")
        make_desk(floor, "2og-01", label="Fenster 1", attributes=["monitor", "standing"], x=10, y=20)
        make_desk(floor, "2og-02", label="Fenster 2", x=30, y=20)
        make_room(floor, "sitzungssaal", capacity=8, attributes=["projector"])
        make_user("anna", roles="admin", password="Sehr-geheim-2026", display_name="Anna Admin", team="it",
                  show_presence=True)
        db.session.commit()
    return live_server


def log_in(page, base: str) -> None:
    page.goto(base + "/anmelden")
    page.fill("#username", "anna")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["de", "en"])
def test_book_and_cancel_desk_and_room_with_axe(spaces_server, page, assert_no_axe_violations, language):
    base = spaces_server.url
    text = TEXT[language]
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    log_in(page, base)
    day = open_day(1).isoformat()

    # desk: book the whole day, see it in "My week", cancel it
    page.goto(f"{base}/arbeitsplaetze/buchen?date={day}")
    assert page.locator("html").get_attribute("lang") == language
    assert_no_axe_violations(page, f"book a desk ({language})")
    page.get_by_role("button", name=re.compile(text["book_desk"])).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert text["booked"] in page.content()
    assert_no_axe_violations(page, f"my week ({language})")
    page.get_by_role("button", name=re.compile(rf"^{text['cancel']}\W+Fenster 1")).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert text["cancelled"] in page.content()
    assert "Fenster 1" not in page.locator("#desk-bookings-heading + *").inner_text()

    # room: book 09:00-10:00, see it, cancel it
    page.goto(f"{base}/arbeitsplaetze/raeume?date={day}")
    assert_no_axe_violations(page, f"rooms ({language})")
    page.get_by_label(text["start"]).select_option("09:00")
    page.get_by_label(text["end"]).select_option("10:00")
    page.get_by_label(text["title"]).fill("Jour fixe")
    page.get_by_role("button", name=text["book_room"]).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert text["room_booked"] in page.content() and "Jour fixe" in page.content()
    page.get_by_role("button", name=re.compile(rf"^{text['cancel']}\W+Jour fixe")).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert "Jour fixe" not in page.locator("#room-bookings-heading + *").inner_text()

    # every other page of the area
    for path in ["/arbeitsplaetze/wer-ist-da", "/arbeitsplaetze/verwaltung",
                 "/arbeitsplaetze/verwaltung/platz/2og-01/qr", "/arbeitsplaetze/platz/2og-01/einchecken",
                 f"/arbeitsplaetze/buchen?date={day}&floor=rathaus-2og&attribute=standing"]:
        page.goto(base + path)
        assert_no_axe_violations(page, f"{path} ({language})")

    # a failed booking re-renders the form with the error summary
    page.goto(f"{base}/arbeitsplaetze/raeume?date={day}")
    page.get_by_label(text["start"]).select_option("10:00")
    page.get_by_label(text["end"]).select_option("09:00")
    page.get_by_label(text["title"]).fill("Falsch herum")
    page.get_by_role("button", name=text["book_room"]).click()
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"room error ({language})")

    # series report and the feed address page (both reached by POST)
    page.goto(f"{base}/arbeitsplaetze/buchen?date={day}")
    page.locator("#weekday-0").check()
    page.locator("#weekday-2").check()
    page.locator("#series-weeks").fill("2")
    page.locator("form[action$='/serie'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/serie$"))
    assert_no_axe_violations(page, f"series result ({language})")
    page.goto(base + "/arbeitsplaetze/")
    page.locator("form[action$='/kalender-abo'] button").click()
    assert "/arbeitsplaetze/kalender/" in page.locator("#feed-url").input_value()
    assert_no_axe_violations(page, f"feed created ({language})")


@pytest.mark.parametrize("language", ["de", "en"])
def test_at_one_in_the_afternoon_only_the_afternoon_is_offered(spaces_server, page, assert_no_axe_violations,
                                                                clock, language):
    """Issue 9, item 1 in Chromium: at 13:00 on a working day the desk page opens on today, shows the
    morning as over and books the afternoon; at 20:30 it opens on the next working day; the room page
    offers no time before now."""
    base = spaces_server.url
    wednesday = date(2026, 11, 25)
    over, afternoon = {"de": ("vorbei", r"^Buchen\W+Fenster 1, Nachmittag"),
                       "en": ("over", r"^Book\W+Fenster 1, Afternoon")}[language]
    clock.set(wednesday, 13, 0)
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    log_in(page, base)
    page.goto(f"{base}/arbeitsplaetze/buchen")
    assert page.locator("#filter-date").input_value() == wednesday.isoformat()
    fenster = page.get_by_role("row", name=re.compile("Fenster 1"))
    assert fenster.get_by_role("button").count() == 1
    assert over in fenster.inner_text()
    assert_no_axe_violations(page, f"desk page at 13:00 ({language})")
    fenster.get_by_role("button", name=re.compile(afternoon)).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert "Fenster 1" in page.locator("#desk-bookings-heading + *").inner_text()

    clock.set(wednesday, 20, 30)
    page.goto(f"{base}/arbeitsplaetze/buchen")
    assert page.locator("#filter-date").input_value() == "2026-11-26"
    page.goto(f"{base}/arbeitsplaetze/raeume")
    assert page.locator("#room-day").input_value() == "2026-11-26"
    clock.set(wednesday, 9, 7)
    page.goto(f"{base}/arbeitsplaetze/raeume")
    assert page.locator("#room-day").input_value() == wednesday.isoformat()
    assert page.locator("#room-start option").first.get_attribute("value") == "09:15"
    assert page.locator("#room-start").input_value() == "09:15"
    assert page.locator("#room-end").input_value() == "10:15"
    assert_no_axe_violations(page, f"room page at 09:07 ({language})")
