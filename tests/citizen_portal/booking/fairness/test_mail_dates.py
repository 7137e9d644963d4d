"""Waiting-list mails write dates and times as the reader's language does (issue 17.3): an English offer
names the day and time in en-GB style (day before month, 24-hour), a German one in German. Real SMTP sink."""

from __future__ import annotations

from tests.citizen_portal.booking.fairness.helpers import setup
from tests.citizen_portal.booking.fairness.test_views import offered_through_the_pages
from tests.fixtures.mail import body_text

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _offer_text(client, smtp_sink, location, service, language: str) -> tuple[str, object]:
    offer, start = offered_through_the_pages(client, smtp_sink, location, service, language)
    return " ".join(body_text(offer).split()), start


def test_english_offer_mail_writes_day_month_and_24_hours(app, client, smtp_sink):
    location, service, _ = setup()
    text, start = _offer_text(client, smtp_sink, location, service, "en")
    day = f"{WEEKDAYS[start.weekday()]}, {start.day} {MONTHS[start.month - 1]} {start.year}"
    assert day in text and "09:00" in text, text
    assert " AM" not in text and " PM" not in text


def test_german_offer_mail_writes_the_german_format(app, client, smtp_sink):
    location, service, _ = setup()
    text, start = _offer_text(client, smtp_sink, location, service, "de")
    assert f"{start.day}. " in text and f"{start.year} um 09:00 Uhr" in text, text
