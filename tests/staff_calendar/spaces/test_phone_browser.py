"""Staff pages on a 375 px phone in Chromium (issue 17, item 5), German and English: "Heute", "Meine Woche",
desk and room pages fit the width (nothing scrolls sideways, no column cut off), axe-core finds nothing; a
later day offers no "Erschienen"; a taken room time offers the room's next free time, bookable with one
button; the login lands on the role's page; the feed page offers webcal: and, with JavaScript only, a copy
button; everything works without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import site_timezone
from staff_calendar.spaces.services import rooms
from tests.citizen_portal.booking.test_staff_day import appointment
from tests.factories import make_location, make_service, make_staff, make_user
from tests.staff_calendar.spaces.factories import make_desk, make_floor, make_room, make_site, open_day
from tests.staff_calendar.spaces.test_desks import make_person

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
TEXT = {
    "de": {"arrived": "Erschienen", "start": "Beginn", "end": "Ende", "title": "Titel", "book_room": "Raum buchen",
           "next_free": "Nächste freie Zeit in diesem Raum", "book_that": "Diese Zeit buchen",
           "room_booked": "Raum gebucht", "copy": "Adresse kopieren", "copied": "Adresse kopiert.",
           "today": "Heute"},
    "en": {"arrived": "Arrived", "start": "Start", "end": "End", "title": "Title", "book_room": "Book a room",
           "next_free": "Next free time in this room", "book_that": "Book this time",
           "room_booked": "Room booked", "copy": "Copy address", "copied": "Address copied.",
           "today": "Today"},
}


@pytest.fixture
def staff_server(live_server):
    with live_server.app.app_context():
        make_site()
        floor = make_floor("rathaus-2og")
        make_desk(floor, "2og-01", label="Fenster 1", attributes=["monitor"], x=10, y=20)
        make_room(floor, "sitzungssaal", capacity=8, attributes=["projector"])
        location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office"})
        service = make_service("ausweis", {"de": "Personalausweis beantragen", "en": "Apply for an identity card"},
                               locations=[location])
        staff = make_staff("tina", "Tina Telefon", locations=[location], services=[service])
        now = datetime.now(UTC)  # under scripts/faked_clock.py this is the faked moment
        started = appointment(service, location, staff, now - timedelta(minutes=5), name="Anna Arm")
        later = appointment(service, location, staff, now + timedelta(days=2), name="Bernd Bauer")
        make_user("tina", roles="staff", password="Sehr-geheim-2026", display_name="Tina Telefon", team="it")
        db.session.commit()
        live_server.days = {"started": started.start_at.astimezone(site_timezone()).date(),
                            "later": later.start_at.astimezone(site_timezone()).date()}
    return live_server


def _log_in(page, base: str, language: str) -> None:
    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    page.goto(base + "/anmelden")
    page.fill("#username", "tina")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def _fits_the_phone(page, label: str) -> None:
    """Nothing wider than the viewport: no sideways scrolling, so no column is out of sight."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{label}: the page is {width} px wide at {PHONE['width']} px"
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.kern-table-responsive, table')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)""")
    assert not overflowing, f"{label}: these scroll sideways: {overflowing}"


@pytest.mark.parametrize("language", ["de", "en"])
def test_staff_pages_on_a_phone(staff_server, page, assert_no_axe_violations, language):
    base, text = staff_server.url, TEXT[language]
    _log_in(page, base, language)
    # the role's landing page: staff land on "Heute"
    assert page.url.split("?")[0].endswith("/mitarbeitende/heute")
    assert page.locator("h1").inner_text().startswith(text["today"])

    page.goto(f"{base}/mitarbeitende/heute?tag={staff_server.days['started'].isoformat()}")
    card = page.locator(".staff-card", has_text="Anna Arm")
    assert card.is_visible() and card.get_by_role("button", name=re.compile(text["arrived"])).is_visible()
    _fits_the_phone(page, f"Heute ({language})")
    assert_no_axe_violations(page, f"Heute at 375 px ({language})")
    # a later day: the appointment is listed, but no button that could only fail
    page.goto(f"{base}/mitarbeitende/heute?tag={staff_server.days['later'].isoformat()}")
    later = page.locator(".staff-card", has_text="Bernd Bauer")
    assert later.is_visible() and later.get_by_role("button").count() == 0
    _fits_the_phone(page, f"Heute, later day ({language})")

    day = open_day(1).isoformat()
    for path in (f"/arbeitsplaetze/buchen?date={day}", "/arbeitsplaetze/", "/arbeitsplaetze/wer-ist-da"):
        page.goto(base + path)
        _fits_the_phone(page, f"{path} ({language})")
        assert_no_axe_violations(page, f"{path} at 375 px ({language})")
    # every desk cell names its column on the phone (the header row is hidden only visually)
    page.goto(f"{base}/arbeitsplaetze/buchen?date={day}")
    label = page.evaluate("""() => getComputedStyle(document.querySelector(
        '.spaces-table--stack td[data-label]'), '::before').content""")
    assert label.strip('"').endswith(": ")

    # the room: while Tina fills in 09:00-10:00, a colleague books that hour → the next free time is offered
    page.goto(f"{base}/arbeitsplaetze/raeume?date={day}")
    page.get_by_label(text["start"]).select_option("09:00")
    page.get_by_label(text["end"]).select_option("10:00")
    page.get_by_label(text["title"]).fill("Besprechung")
    with staff_server.app.app_context():
        _user, colleague = make_person(f"kai-{language}", calendar=False)
        start = datetime.combine(open_day(1), time(9), tzinfo=site_timezone())
        rooms.book_room(colleague, "sitzungssaal", start, start + timedelta(hours=1), "Schneller")
    page.get_by_role("button", name=text["book_room"]).click()
    page.wait_for_load_state()
    assert page.locator("#error-summary").is_visible()
    suggestion = page.locator(".spaces-suggestion")
    assert text["next_free"] in suggestion.inner_text() and "10:00" in suggestion.inner_text()
    _fits_the_phone(page, f"room conflict ({language})")
    assert_no_axe_violations(page, f"room conflict at 375 px ({language})")
    suggestion.get_by_role("button", name=text["book_that"]).click()
    page.wait_for_url(re.compile(r"/arbeitsplaetze/$"))
    assert text["room_booked"] in page.content() and "Besprechung" in page.content()

    # the feed page: webcal: link and, with JavaScript, a copy button that says what it did
    page.locator("form[action$='/kalender-abo'] button").click()
    page.wait_for_load_state()
    feed_url = page.locator("#feed-url").input_value()
    webcal = page.get_by_role("link", name=re.compile("abonnieren|Subscribe", re.I)).get_attribute("href")
    assert webcal == "webcal://" + feed_url.split("://", 1)[1]
    for client in ("Thunderbird", "Outlook", "iOS"):
        assert client in page.content()
    copy = page.get_by_role("button", name=text["copy"])
    assert copy.is_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    copy.click()
    page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
    assert page.locator("#copy-status").inner_text() in (text["copied"],) or "feed-url" in page.evaluate(
        "() => document.activeElement.id")
    _fits_the_phone(page, f"feed ({language})")
    assert_no_axe_violations(page, f"feed at 375 px ({language})")


@pytest.mark.parametrize("language", ["de", "en"])
def test_staff_pages_on_a_phone_without_javascript(staff_server, page_without_js, language):
    page, base, text = page_without_js, staff_server.url, TEXT[language]
    _log_in(page, base, language)
    assert page.url.split("?")[0].endswith("/mitarbeitende/heute")
    page.goto(f"{base}/mitarbeitende/heute?tag={staff_server.days['started'].isoformat()}")
    page.locator(".staff-card", has_text="Anna Arm").get_by_role("button", name=re.compile(text["arrived"])).click()
    page.wait_for_load_state()
    assert page.locator(".staff-card", has_text="Anna Arm").is_visible()
    assert page.locator(".kern-alert--success").is_visible()
    _fits_the_phone(page, f"Heute after marking, no JS ({language})")

    page.goto(base + "/arbeitsplaetze/")
    page.locator("form[action$='/kalender-abo'] button").click()
    page.wait_for_load_state()
    assert page.locator("#feed-url").input_value().startswith("http")
    assert not page.get_by_role("button", name=text["copy"]).is_visible()  # hidden without JavaScript
    assert page.locator("a[href^='webcal://']").is_visible()
    _fits_the_phone(page, f"feed, no JS ({language})")  # (axe-core needs JavaScript: it ran on these pages above)
