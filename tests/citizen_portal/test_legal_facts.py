"""Legal pages the city must fill in (issue 17, item 8): the accessibility statement (BITV 2.0 § 7)
and the privacy page show the site file's required facts in both languages, the demo file loads
them, and the booking form rests on the public task with an "I have read" notice unless a service
needs consent."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from citizen_portal.core.extensions import db
from citizen_portal.site.schema import parse_site_file
from citizen_portal.site.services import apply_site
from tests.citizen_portal.booking.test_views import VALID, book_url, future_day, setup, slot_start

__all__ = ["setup"]

DEMO = Path(__file__).resolve().parents[2] / "demo" / "site.toml"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_demo_facts_on_the_legal_pages(client, app) -> None:
    apply_site(parse_site_file(DEMO, app.config["TIMEZONE"]))
    db.session.commit()
    statement = text(client.get("/barrierefreiheit"))
    assert "mailto:barrierefreiheit@musterhausen.example" in statement and "+49 7971 123-45" in statement
    assert "Durchsetzungsverfahren" in statement and "Ombudsstelle" in statement
    assert "teilweise vereinbar" in statement and "1. Dezember 2026" in statement
    privacy = text(client.get("/datenschutz"))
    assert "vertreten durch den Bürgermeister" in privacy and "mailto:datenschutz@musterhausen.example" in privacy
    assert "Art. 6 Abs. 1 lit. e DSGVO" in privacy and "Landesbeauftragte für den Datenschutz" in privacy
    client.set_cookie("lang", "en")
    statement = text(client.get("/barrierefreiheit"))
    assert "Enforcement procedure" in statement and "Ombudsperson" in statement and "1 December 2026" in statement
    assert "Controller" in text(client.get("/datenschutz"))
    # and every error page names the office
    missing = text(client.get("/gibt-es-nicht"))
    assert "+49 7971 123-0" in missing and "buergerservice@musterhausen.example" in missing


def test_form_rests_on_the_public_task_unless_a_service_needs_consent(client, setup) -> None:
    start = slot_start(future_day(4), 10)
    page = text(client.get(book_url(start)))
    assert "Art. 6 Abs. 1 lit. e DSGVO" in page and "Ich habe die Datenschutzhinweise gelesen." in page
    assert "einverstanden" not in page
    setup["service"].info = {"needs_consent": True}
    db.session.commit()
    page = text(client.get(book_url(start)))
    assert "Art. 6 Abs. 1 lit. a DSGVO" in page and "einverstanden" in page
    # the notice must still be acknowledged: without the tick, a clear error and nothing booked
    response = client.post(book_url(start), data={**VALID, "privacy_consent": "", "start": start.isoformat()})
    assert response.status_code == 400 and "Datenschutzhinweise gelesen haben" in text(response)
