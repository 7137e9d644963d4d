"""Chromium: vote with a printed code, see the receipt, a second use is refused, results after close;
axe-core finds no violations on any poll or suggestion page, in German and in English."""

from __future__ import annotations

import re

import pytest

from citizen_portal.core.extensions import db
from polls.models import Poll, Suggestion
from tests.polls.factories import close, codes_for, make_poll

pytestmark = pytest.mark.browser


def _seed(live):
    with live.app.app_context():
        poll = make_poll(visibility="after_close")
        codes = codes_for(poll, 2)
        email_poll = make_poll(mode="email")
        open_poll = make_poll(mode="open", visibility="live")
        item = Suggestion(title="Mehr Bänke im Park", text="Bitte.", email=None, email_verified=True,
                          moderation="published", answer="Wir prüfen das.")
        db.session.add(item)
        db.session.commit()
        return poll.slug, codes, email_poll.slug, open_poll.slug, item.id


def _vote(page, base: str, slug: str, code: str) -> None:
    page.goto(f"{base}/beteiligung/{slug}")
    page.get_by_label("Einladungscode").fill(code)
    page.get_by_label("Grün").check()
    page.get_by_label("Mo").check()
    page.locator("fieldset").nth(2).get_by_label("4").check()
    page.get_by_role("button", name="Stimme abgeben").click()


def test_vote_with_a_code_receipt_and_results_after_close(live_server, page, assert_no_axe_violations):
    slug, codes, *_ = _seed(live_server)
    base = live_server.url
    _vote(page, base, slug, codes[0].lower())
    assert page.get_by_role("heading", name="Vielen Dank, Ihre Stimme ist eingegangen.").is_visible()
    receipt = page.locator("#receipt-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", receipt)
    assert_no_axe_violations(page, "receipt page")
    page.get_by_role("link", name="Quittungscode prüfen").click()
    page.get_by_label("Quittungscode").fill(receipt)
    page.get_by_role("button", name="Prüfen").click()
    assert page.get_by_text("Die Stimme mit diesem Quittungscode ist eingegangen.").is_visible()  # pending
    assert_no_axe_violations(page, "receipt check, received")
    _vote(page, base, slug, codes[0])
    assert page.get_by_role("alert").filter(has_text="schon abgestimmt").is_visible()
    assert page.evaluate("() => document.title").startswith("Testumfrage")
    with live_server.app.app_context():
        close(db.session.query(Poll).filter_by(slug=slug).one())
    page.goto(f"{base}/beteiligung/{slug}")
    page.get_by_role("link", name="Ergebnisse ansehen").click()
    assert page.locator("svg[role=img]").count() == 3
    row = page.locator("table").first.get_by_role("row", name=re.compile("Grün"))
    assert "1" in row.inner_text() and "100,0 %" in row.inner_text()
    assert_no_axe_violations(page, "results page")
    page.goto(f"{base}/beteiligung/{slug}/quittung?r={receipt}")  # counted with the last batch at the close
    assert page.get_by_text("Ja: Die Stimme mit diesem Quittungscode wurde gezählt.").is_visible()


@pytest.mark.parametrize("language", ["de", "en"])
def test_no_axe_violations_on_poll_and_suggestion_pages(live_server, page, assert_no_axe_violations, language):
    slug, _codes, email_slug, open_slug, item_id = _seed(live_server)
    base = live_server.url
    page.context.add_cookies([{"name": "lang", "value": language, "url": base}])
    pages = [
        "/beteiligung", f"/beteiligung/{slug}", f"/beteiligung/{email_slug}", f"/beteiligung/{open_slug}",
        f"/beteiligung/{open_slug}/ergebnisse", f"/beteiligung/{slug}/quittung", "/beteiligung/ideen",
        "/beteiligung/ideen/neu", f"/beteiligung/ideen/{item_id}", "/beteiligung/ideen/bestaetigen/ungueltig",
    ]
    for path in pages:
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language
        assert_no_axe_violations(page, f"{path} ({language})")
    # forms with errors: the error summary
    page.goto(f"{base}/beteiligung/{slug}")
    page.locator("form button[type=submit]").last.click()
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"poll form with errors ({language})")
    page.goto(f"{base}/beteiligung/ideen/neu")
    page.locator("main form button[type=submit]").click()
    assert page.locator("#error-summary").is_visible()
    assert_no_axe_violations(page, f"suggestion form with errors ({language})")
    page.goto(f"{base}/beteiligung/{email_slug}")
    page.locator("main form input[type=email]").fill("x@example.org")
    page.locator("main form button[type=submit]").click()
    assert_no_axe_violations(page, f"link sent ({language})")
    page.goto(f"{base}/beteiligung/{open_slug}")
    page.locator("main form button[type=submit]").click()
    assert_no_axe_violations(page, f"open poll with errors ({language})")
