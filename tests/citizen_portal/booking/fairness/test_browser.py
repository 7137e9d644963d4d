"""The waiting-list pages in Chromium (no script at all with the captcha off), axe-core clean in German and
English:
join form (with an error first), the confirm page, the position band, the offer page, the lottery
form, and the staff page. Runs against a live server on the suite's database."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from citizen_portal.booking import services
from citizen_portal.core.extensions import db
from tests.citizen_portal.booking.factories import contact
from tests.citizen_portal.booking.fairness.test_views import a_week_ahead
from tests.factories import make_location, make_service, make_staff, make_user
from tests.fixtures.mail import body_text

EVERY_DAY = {day: ["08:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def path_of(message, kind: str) -> str:
    url = re.search(rf"https?://\S+/termine/warteliste/{kind}/\S+", body_text(message)).group(0)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize("language", ["de", "en"])
def test_waiting_list_pages_are_axe_clean_and_script_free(page, live_server_factory, smtp_sink,
                                                             assert_no_axe_violations, language):
    live = live_server_factory(**smtp_sink.config)
    with live.app.app_context():
        location = make_location("abh", {"de": "Ausländerbehörde", "en": "Immigration Office"},
                                 opening_hours=EVERY_DAY)
        service = make_service("titel", {"de": "Aufenthaltstitel", "en": "Residence permit"}, locations=[location],
                               duration_minutes=30, min_lead_hours=0, waiting_list="always", release_days_ahead=30)
        make_staff("mmeier", "Maria Meier", locations=[location], services=[service])
        make_user("sachbearbeiterin", roles="staff")
        db.session.commit()

    page.context.add_cookies([{"name": "lang", "value": language, "url": live.url}])
    page.goto(f"{live.url}/termine/titel/abh/")
    assert_no_axe_violations(page, f"days with links ({language})")
    page.click("#waiting-list-link a")
    assert_no_axe_violations(page, f"join form ({language})")
    page.click("main form button[type=submit]")  # nothing filled in: 400 with the error summary
    assert page.locator("#error-summary").count() == 1
    assert_no_axe_violations(page, f"join errors ({language})")
    page.fill("#field-name", "Erika Mustermann")
    page.fill("#field-email", "erika@example.org")
    page.check("#weekday-1")
    page.check("#field-privacy-consent")
    page.click("main form button[type=submit]")
    assert_no_axe_violations(page, f"check mail ({language})")
    [mail] = smtp_sink.wait_for(1)
    page.goto(live.url + path_of(mail, "bestaetigen"))
    assert_no_axe_violations(page, f"confirm ({language})")
    page.click("main form button[type=submit]")
    assert page.locator("#position").count() == 1
    assert_no_axe_violations(page, f"position ({language})")

    with live.app.app_context():
        start = a_week_ahead(9)
        while start.weekday() != 1:  # she asked for Tuesdays
            start += timedelta(days=1)
        other = services.book(services.BookingRequest("titel", "abh", start, contact(email="o@example.org")))
        smtp_sink.clear()
        services.cancel(other.appointment.code, other.manage_token)
        db.session.remove()
    offer_mail = next(m for m in smtp_sink.wait_for(2) if "/angebot/" in body_text(m))
    page.goto(live.url + path_of(offer_mail, "angebot"))
    assert_no_axe_violations(page, f"offer ({language})")
    page.click("main form button[type=submit]")
    assert "/termine/gebucht/" in page.url
    page.goto(f"{live.url}/termine/warteliste/titel/losung")
    assert_no_axe_violations(page, f"lottery ({language})")
    page.goto(f"{live.url}/anmelden")
    page.fill("input[name=username]", "sachbearbeiterin")
    page.fill("input[name=password]", "pw")
    page.click("main form button[type=submit]")
    page.goto(f"{live.url}/mitarbeitende/warteliste/titel")
    assert page.locator("#offers-accepted").inner_text() == "1"
    assert_no_axe_violations(page, f"staff ({language})")
    assert page.locator("script").count() == 0
