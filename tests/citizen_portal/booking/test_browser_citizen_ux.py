"""What citizens feel (issue 17, items 1, 2 and 4) in Chromium on a 375 px phone, in German and
English, axe-clean, and without JavaScript: the "nächster freier Termin" shortcut, the booked page
with calendar download, map link and office facts, a lost mail recovered by booking number + e-mail,
an invalid link that offers that recovery and the office contact, and a pending booking's "send
again"."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest

from citizen_portal.core.extensions import db
from citizen_portal.core.models import SiteSettings
from tests.factories import make_location, make_service, make_staff
from tests.fixtures.browser import _open_page
from tests.fixtures.mail import body_text
from tests.fixtures.patience import patience

pytestmark = pytest.mark.browser

EVERY_DAY = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True, "accept_downloads": True}
CONTACT = {"phone": "+49 7971 123-0", "email": "buergerservice@musterhausen.example"}
TEXT = {
    "de": {"next": "Nächster freier Termin", "name": "Vor- und Nachname", "email": "E-Mail-Adresse",
           "privacy": "Ich habe die Datenschutzhinweise gelesen.", "book": "Termin verbindlich buchen",
           "reserve": "Termin reservieren", "calendar": "In den Kalender eintragen",
           "map": "Auf der Karte zeigen (OpenStreetMap)", "step_free": "Rampe am Seiteneingang", "fees": "37,00 Euro",
           "code": "Buchungsnummer", "send": "Link zuschicken", "sent": "Wenn es zu dieser Buchungsnummer",
           "missing": "Bitte geben Sie Ihre Buchungsnummer an.", "reach": "So erreichen Sie uns",
           "find": "Termin mit Buchungsnummer und E-Mail-Adresse finden", "again": "Erneut senden",
           "again_done": "erneut geschickt", "lookup_title": "Termin finden"},
    "en": {"next": "Next free appointment", "name": "First and last name", "email": "Email address",
           "privacy": "I have read the privacy information.", "book": "Book appointment",
           "reserve": "Reserve appointment", "calendar": "Add to calendar",
           "map": "Show on the map (OpenStreetMap)", "step_free": "Ramp at the side entrance", "fees": "EUR 37.00",
           "code": "Booking number", "send": "Send me the link", "sent": "If there is an appointment",
           "missing": "Please enter your booking number.", "reach": "How to reach us",
           "find": "Find your appointment with booking number and email address", "again": "Send again",
           "again_done": "again", "lookup_title": "Find your appointment"},
}


@pytest.fixture
def phone(browser):
    yield from _open_page(browser, locale="de-DE", **PHONE)


@pytest.fixture
def phone_without_js(browser):
    yield from _open_page(browser, locale="de-DE", java_script_enabled=False, **PHONE)


@pytest.fixture
def server(live_server_factory, smtp_sink):
    live = live_server_factory(**smtp_sink.config)
    with live.app.app_context():
        db.session.add(SiteSettings(name="Stadt Musterhausen", timezone="Europe/Berlin", holidays="BW",
                                    settings={"contact": dict(CONTACT)}))
        location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office Centre"},
                                 opening_hours=EVERY_DAY, address="Marktplatz 1, 74523 Musterhausen",
                                 info={"phone": "+49 7971 123-100",
                                       "step_free": {"de": "Rampe am Seiteneingang", "en": "Ramp at the side entrance"},
                                       "payment": {"de": "Girocard", "en": "Debit card"}})
        for key, confirm in (("ausweis", False), ("ehe", True)):
            service = make_service(key, {"de": f"Leistung {key}", "en": f"Service {key}"}, locations=[location],
                                   duration_minutes=30, email_confirmation=confirm,
                                   documents={"de": ["Foto"], "en": ["Photo"]},
                                   info={"fees": {"de": "37,00 Euro", "en": "EUR 37.00"}})
            make_staff(f"staff-{key}", f"Staff {key}", locations=[location], services=[service])
        db.session.commit()
    return live


WIDER = """() => [...document.querySelectorAll('body *')]
  .filter((node) => node.getBoundingClientRect().right > 375.5)
  .map((node) => `${node.tagName}.${node.className}: ${Math.round(node.getBoundingClientRect().right)}`)"""


def no_sideways_scrolling(page) -> None:
    page.wait_for_load_state()
    page.evaluate("() => document.fonts.ready.then(() => true)")  # styles and fonts in place
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375, (page.url, page.evaluate(WIDER))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def book_next_free(page, base: str, service: str, t: dict, check) -> str:
    """Book the next free time through the shortcut; the booking number."""
    page.goto(f"{base}/termine/{service}/")  # one location: straight to the days
    check("days")
    page.get_by_role("link", name=re.compile(t["next"])).click()
    check("form")
    page.get_by_label(t["name"]).fill("Erika Mustermann")
    page.get_by_label(t["email"]).fill("erika@example.org")
    page.get_by_label(t["privacy"]).check()
    page.get_by_role("button", name=t["reserve"] if service == "ehe" else t["book"]).click()
    return page.locator(".booking-code").first.inner_text().strip()


def checker(page, assert_no_axe_violations, language: str, javascript: bool = True):
    def check(label: str) -> None:
        no_sideways_scrolling(page)
        if javascript:
            assert_no_axe_violations(page, f"{label} ({language}, 375 px)")
        else:
            assert page.locator("script:not([src])").count() == 0, label  # CSP: no inline script
    return check


@pytest.mark.parametrize("language", ["de", "en"])
def test_book_calendar_lookup_and_recovery_on_a_phone(phone, server, smtp_sink, assert_no_axe_violations, language):
    t = TEXT[language]
    phone.context.add_cookies([{"name": "lang", "value": language, "url": server.url}])
    check = checker(phone, assert_no_axe_violations, language)
    code = book_next_free(phone, server.url, "ausweis", t, check)
    check("booked")
    # item 2: the booked page offers the calendar file, the map link and the office facts
    main = phone.locator("main").inner_text()
    for fact in ("+49 7971 123-100", t["step_free"], t["fees"], "Marktplatz 1"):
        assert fact in main, fact
    assert phone.get_by_role("link", name=t["map"]).get_attribute("href").startswith(
        "https://www.openstreetmap.org/search?query=")
    assert phone.locator("iframe").count() == 0
    with phone.expect_download() as download_info:
        phone.get_by_role("link", name=t["calendar"]).click()
    event = icalendar.Calendar.from_ical(Path(download_info.value.path()).read_bytes()).walk("VEVENT")[0]
    assert code in str(event["SUMMARY"]) and "/termine/verwalten/" in str(event["URL"])
    assert event.walk("VALARM")
    [mail] = smtp_sink.wait_for(1)
    smtp_sink.clear()

    # item 1: a dead link leads to the office's contact and to the lookup
    phone.goto(f"{server.url}/termine/verwalten/{code}?token=abgelaufen")
    check("invalid link")
    assert t["reach"] in phone.locator("main").inner_text() and CONTACT["phone"] in phone.locator("main").inner_text()
    phone.get_by_role("link", name=t["find"]).click()
    assert t["lookup_title"] in phone.locator("h1").inner_text()
    check("lookup")
    phone.get_by_role("button", name=t["send"]).click()  # empty: every problem at once, focus on the summary
    phone.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    assert t["missing"] in phone.locator("#error-summary").inner_text()
    check("lookup with errors")
    phone.get_by_label(t["code"]).fill(code.lower().replace("-", ""))
    phone.get_by_label(t["email"]).fill("Erika@Example.org")
    phone.get_by_role("button", name=t["send"]).click()
    assert t["sent"] in phone.locator("main").inner_text()
    check("lookup sent")
    [again] = smtp_sink.wait_for(1)
    link = re.search(r"https?://\S+/termine/verwalten/\S+", body_text(again)).group(0)
    assert link in body_text(mail)  # the same manage link as in the lost confirmation
    phone.goto(server.url + path_of(link))
    assert code in phone.locator("main").inner_text()
    check("manage")


def test_pending_booking_send_again_without_javascript(phone_without_js, server, smtp_sink):
    page, t = phone_without_js, TEXT["de"]
    check = checker(page, None, "de", javascript=False)
    code = book_next_free(page, server.url, "ehe", t, check)
    check("pending")
    [first] = smtp_sink.wait_for(1)
    page.get_by_role("button", name=t["again"]).click()
    assert t["again_done"] in page.locator("main").inner_text()
    second = smtp_sink.wait_for(2)[1]
    assert code in second["Subject"] and body_text(second) != body_text(first)
    # the lookup works without JavaScript too, and tells nothing about an unknown number
    page.goto(f"{server.url}/termine/verwalten/")
    page.get_by_label(t["code"]).fill("ZZZ-ZZZ")
    page.get_by_label(t["email"]).fill("erika@example.org")
    page.get_by_role("button", name=t["send"]).click()
    assert t["sent"] in page.locator("main").inner_text()
    check("lookup sent")


@pytest.fixture
def captcha_server(live_server_factory, smtp_sink):
    """The booking form with the captcha on (a cheap proof of work, a short no-JavaScript wait)."""
    live = live_server_factory(**smtp_sink.config, CAPTCHA="on", CAPTCHA_KEY_PREFIX="00", CAPTCHA_WAIT_SECONDS=3)
    with live.app.app_context():
        location = make_location("amt", {"de": "Amt", "en": "Office"}, opening_hours=EVERY_DAY)
        service = make_service("ausweis", {"de": "Ausweis", "en": "Identity card"}, locations=[location],
                               duration_minutes=30)
        make_staff("anna", "Anna", locations=[location], services=[service])
        db.session.commit()
    return live


def fill_form(page, t: dict) -> None:
    page.get_by_label(t["name"]).fill("Erika Mustermann")
    page.get_by_label(t["email"]).fill("erika@example.org")
    page.get_by_label(t["privacy"]).check()


def test_captcha_solves_by_itself(phone, captcha_server, smtp_sink, assert_no_axe_violations):
    """Nobody ticks a box: the widget solves on load, the booking goes through at once."""
    t = TEXT["de"]
    phone.goto(f"{captcha_server.url}/termine/ausweis/amt/")
    phone.get_by_role("link", name=re.compile(t["next"])).click()
    phone.wait_for_function("() => { const field = document.querySelector('input[name=altcha]');"
                            " return field && field.value.length > 0; }",
                            timeout=patience(30) * 1000)  # the proof of work: slower on a busy machine
    assert_no_axe_violations(phone, "form with the captcha (375 px)")
    no_sideways_scrolling(phone)
    fill_form(phone, t)
    phone.get_by_role("button", name=t["book"]).click()
    assert phone.locator(".booking-code").count() == 1
    smtp_sink.wait_for(1)


def test_without_javascript_the_wait_is_told_up_front(phone_without_js, captcha_server, smtp_sink):
    t = TEXT["de"]
    page = phone_without_js
    page.goto(f"{captcha_server.url}/termine/ausweis/amt/")
    page.get_by_role("link", name=re.compile(t["next"])).click()
    note = page.locator(".captcha [role=note]").inner_text()
    assert "erst 3 Sekunden nach dem Laden absenden" in note  # the real length, before anything is typed
    page.wait_for_timeout(3200)
    fill_form(page, t)
    page.get_by_role("button", name=t["book"]).click()
    # accepted; without the proof of work the citizen confirms by mail
    assert "Bitte bestätigen Sie Ihren Termin" in page.locator("h1").inner_text()
    assert "bestaetigen" in body_text(smtp_sink.wait_for(1)[0])
