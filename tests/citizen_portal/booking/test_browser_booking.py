"""Booking in Chromium (issue 4, item 11): book, read the mail from the SMTP sink, open the manage
link, move, cancel; axe-core finds no violations on any page of the flow, in German and English;
and the same flow works with JavaScript switched off."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from citizen_portal.core.extensions import db
from tests.factories import make_location, make_service, make_staff
from tests.fixtures.mail import body_text

pytestmark = pytest.mark.browser

EVERY_DAY = {day: ["08:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

TEXT = {
    "de": {"book": "Termin verbindlich buchen", "booked": "Ihr Termin ist gebucht", "move": "Termin verschieben",
           "move_to": "Termin auf diese Zeit verschieben", "moved": "wurde verschoben", "cancel": "Termin absagen",
           "really": "Ja, Termin absagen", "cancelled": "Ihr Termin ist abgesagt", "name": "Vor- und Nachname",
           "email": "E-Mail-Adresse", "phone": "Telefonnummer", "privacy": "Ich habe die Datenschutzhinweise",
           "error": "Bitte geben Sie Ihren Namen an.", "service": "Personalausweis beantragen",
           "location": "Bürgeramt Mitte"},
    "en": {"book": "Book appointment", "booked": "Your appointment is booked", "move": "Move appointment",
           "move_to": "Move the appointment to this time", "moved": "has been moved", "cancel": "Cancel appointment",
           "really": "Yes, cancel the appointment", "cancelled": "Your appointment is cancelled",
           "name": "First and last name", "email": "Email address", "phone": "Phone number",
           "privacy": "I have read the privacy information", "error": "Please enter your name.",
           "service": "Apply for an identity card", "location": "Citizens' Office Centre"},
}


@pytest.fixture
def booking_server(live_server_factory, smtp_sink):
    live = live_server_factory(**smtp_sink.config)
    with live.app.app_context():
        location = make_location("buergeramt", {"de": "Bürgeramt Mitte", "en": "Citizens' Office Centre"},
                                 opening_hours=EVERY_DAY)
        service = make_service("ausweis", {"de": "Personalausweis beantragen", "en": "Apply for an identity card"},
                               locations=[location], duration_minutes=30,
                               description={"de": "Neuer Ausweis.", "en": "A new card."},
                               documents={"de": ["Foto"], "en": ["Photo"]})
        make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
        db.session.commit()
    return live


def manage_link(message) -> str:
    """Path and query of the manage link in a mail (BASE_URL differs from the live server's port)."""
    url = re.search(r"https?://\S+/termine/verwalten/\S+", body_text(message)).group(0)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def first_day_link(page):
    """The first day in the accessible day list (next month if this one has no free day left)."""
    days = page.locator(".booking-day-list a")
    if days.count() == 0:
        page.locator(".booking-month-nav a").last.click()
    return page.locator(".booking-day-list a").first


def run_flow(page, base: str, smtp_sink, language: str, check=None, javascript: bool = True) -> None:
    t = TEXT[language]
    check = check or (lambda label: None)
    page.goto(base + "/termine/")
    assert page.locator("html").get_attribute("lang") == language
    check("services")
    page.get_by_role("link", name=t["service"]).click()
    # the service is offered at one location only: the location step is skipped
    assert page.url.endswith("/termine/ausweis/buergeramt/")
    assert t["location"] in page.locator("main").inner_text()
    check("days")
    day = first_day_link(page)
    day_text = day.inner_text()
    assert re.search(r"\d{4}, \d+ ", day_text), day_text  # announced in full, with the number of free times
    day.click()
    check("times")
    page.locator(".booking-times a").nth(1).click()
    check("form")
    # submit empty: error summary with links to the fields
    page.get_by_role("button", name=t["book"]).click()
    assert page.locator("#error-summary").is_visible()
    if javascript:  # the focus is on the summary, so its heading is announced first
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    assert t["error"] in page.locator("#error-summary").inner_text()
    check("form with errors")
    page.get_by_label(t["name"]).fill("Erika Mustermann")
    page.get_by_label(t["email"]).fill("erika@example.org")
    page.get_by_label(t["privacy"]).check()
    page.get_by_role("button", name=t["book"]).click()
    assert t["booked"] in page.locator("h1").inner_text()
    code = page.locator(".booking-code").inner_text().strip()
    check("booked")

    [confirmation] = smtp_sink.wait_for(1)
    assert code in confirmation["Subject"]
    page.goto(base + manage_link(confirmation))
    assert code in page.content()
    check("manage")

    page.get_by_role("link", name=t["move"]).click()
    check("move: days")
    first_day_link(page).click()
    check("move: times")
    # the same grid of time buttons as when booking: one click moves
    page.locator(".booking-times button").last.click()
    assert t["moved"] in page.locator("[role=status]").first.inner_text()
    check("manage after move")
    smtp_sink.wait_for(2)

    page.get_by_role("link", name=t["cancel"]).click()
    check("cancel")
    page.get_by_role("button", name=t["really"]).click()
    assert t["cancelled"] in page.locator("h1").inner_text()
    check("cancelled")
    messages = smtp_sink.wait_for(3)
    assert any(part.get_content_type() == "text/calendar" and "METHOD:CANCEL" in part.get_content()
               for part in messages[2].walk())


@pytest.mark.parametrize("language", ["de", "en"])
def test_book_move_cancel_with_axe(page, booking_server, smtp_sink, assert_no_axe_violations, language):
    page.context.add_cookies([{"name": "lang", "value": language, "url": booking_server.url}])
    run_flow(page, booking_server.url, smtp_sink, language,
             check=lambda label: assert_no_axe_violations(page, f"{label} ({language})"))
    page.goto(booking_server.url + "/termine/datenschutz")
    assert_no_axe_violations(page, f"privacy ({language})")


def test_book_move_cancel_without_javascript(page_without_js, booking_server, smtp_sink):
    def no_scripts(label: str) -> None:
        # captcha off: no JavaScript but the error summary's focus helper, and never an inline script
        sources = page_without_js.locator("script").evaluate_all("(nodes) => nodes.map((node) => node.src)")
        assert all(re.search(r"/static/js/error-focus(\.[0-9a-f]+)?\.js$", src) for src in sources), (label, sources)

    run_flow(page_without_js, booking_server.url, smtp_sink, "de", check=no_scripts, javascript=False)
