"""Issue 9, items 7 and 8 in Chromium: a poll admin finds the admin pages in the navigation and
publishes and unpublishes a poll with the form's checkbox; after voting the receipt page survives a
reload, copies, prints and downloads the code, and another browser does not see it. Axe-clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from citizen_portal.core.extensions import db
from polls.models import Poll
from tests.factories import make_user
from tests.polls.factories import codes_for, make_poll

pytestmark = pytest.mark.browser


def published(live, slug: str) -> bool:
    with live.app.app_context():
        value = db.session.query(Poll.published).filter_by(slug=slug).scalar()
        db.session.remove()
        return value


def test_poll_admin_publishes_and_unpublishes_from_the_admin_page(live_server, page, assert_no_axe_violations):
    base = live_server.url
    with live_server.app.app_context():
        make_user("umfragen", roles="poll_admin", password="Sehr-geheim-2026")
        db.session.commit()
    page.goto(base + "/anmelden")
    page.fill("#username", "umfragen")
    page.fill("#password", "Sehr-geheim-2026")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    navigation = page.get_by_role("navigation", name="Hauptnavigation")
    navigation.get_by_role("link", name="Beteiligung verwalten").click()
    page.wait_for_url(re.compile(r"/verwaltung/beteiligung/$"))
    assert navigation.get_by_role("link", name="Beteiligung verwalten").get_attribute("aria-current") == "page"
    assert_no_axe_violations(page, "poll admin overview")

    page.get_by_role("link", name="Neue Umfrage").click()
    page.get_by_label("Adresse (Kurzname)").fill("spielplatz")
    page.get_by_label("Titel (deutsch)").fill("Neuer Spielplatz")
    page.get_by_label("Beginn").fill("2020-01-01T08:00")
    page.get_by_label("Ende").fill("2099-01-01T08:00")
    checkbox = page.get_by_label(re.compile("^Veröffentlicht"))
    assert checkbox.is_checked()
    page.get_by_role("button", name="Anlegen").click()
    page.wait_for_url(re.compile(r"/verwaltung/beteiligung/\d+$"))
    assert published(live_server, "spielplatz") is True
    assert_no_axe_violations(page, "poll admin detail")

    page.get_by_label(re.compile("^Veröffentlicht")).uncheck()
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(re.compile(r"/verwaltung/beteiligung/\d+$"))
    assert published(live_server, "spielplatz") is False
    assert not page.get_by_label(re.compile("^Veröffentlicht")).is_checked()
    page.get_by_label(re.compile("^Veröffentlicht")).check()
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(re.compile(r"/verwaltung/beteiligung/\d+$"))
    assert published(live_server, "spielplatz") is True
    assert page.get_by_role("link", name="Öffentliche Seite").is_visible()


def _seed_poll(live) -> tuple[str, list[str]]:
    with live.app.app_context():
        poll = make_poll()
        codes = codes_for(poll, 2)
        db.session.commit()
        return poll.slug, codes


def _vote(page, base: str, slug: str, code: str) -> None:
    page.goto(f"{base}/beteiligung/{slug}")
    page.get_by_label("Einladungscode").fill(code)
    page.get_by_label("Grün").check()
    page.get_by_role("button", name="Stimme abgeben").click()
    page.wait_for_url(re.compile(rf"/beteiligung/{slug}/ihre-quittung$"))


def test_receipt_survives_reload_copies_prints_and_downloads(live_server, page, browser, assert_no_axe_violations):
    slug, [code, _other] = _seed_poll(live_server)
    base = live_server.url
    _vote(page, base, slug, code)
    receipt = page.locator("#receipt-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", receipt)
    assert_no_axe_violations(page, "receipt page")
    page.reload()
    assert page.locator("#receipt-code").inner_text() == receipt
    assert page.get_by_role("heading", name="Vielen Dank, Ihre Stimme ist eingegangen.").is_visible()

    # copy (JavaScript shows the button and writes the clipboard)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Code kopieren").click()
    expect(page.locator("#receipt-status")).to_have_text("Der Quittungscode ist in der Zwischenablage.")
    assert page.evaluate("() => navigator.clipboard.readText()") == receipt

    # print: the button calls the browser's print; the print style shows the code, not the site frame
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.get_by_role("button", name="Drucken").click()
    assert page.evaluate("() => window.printed") is True
    page.emulate_media(media="print")
    assert page.locator("#receipt-code").is_visible()
    assert not page.locator(".site-header").is_visible() and not page.get_by_role("button", name="Drucken").is_visible()
    page.emulate_media(media="screen")

    # download: a small text file with the code and where to check it
    with page.expect_download() as download:
        page.get_by_role("link", name="Als Textdatei speichern").click()
    assert download.value.suggested_filename == f"quittung-{slug}.txt"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert receipt in text and f"/beteiligung/{slug}/quittung" in text

    # another browser (a fresh session) does not see it
    other = browser.new_context(locale="de-DE")
    try:
        stranger = other.new_page()
        response = stranger.goto(f"{base}/beteiligung/{slug}/ihre-quittung")
        assert response.status == 404 and receipt not in stranger.content()
        assert stranger.get_by_role("heading", name="Keine Quittung in diesem Browser").is_visible()
        assert_no_axe_violations(stranger, "no receipt page")
    finally:
        other.close()


def test_receipt_without_javascript(live_server, page_without_js):
    slug, [code, _other] = _seed_poll(live_server)
    _vote(page_without_js, live_server.url, slug, code)
    assert page_without_js.locator("#receipt-code").is_visible()
    assert not page_without_js.get_by_role("button", name="Code kopieren").is_visible()
    assert page_without_js.get_by_role("link", name="Als Textdatei speichern").is_visible()
    page_without_js.reload()
    assert page_without_js.locator("#receipt-code").is_visible()
