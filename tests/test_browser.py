"""Chromium through Playwright on a live server: language switch, login, axe on the shell pages."""

from __future__ import annotations

import re

import pytest

from citizen_portal.core.extensions import db
from tests.factories import make_user

pytestmark = pytest.mark.browser

SHELL_PAGES = ("/anmelden", "/impressum", "/datenschutz", "/barrierefreiheit")


def test_start_page_german_and_english_language_switch_and_axe(page, live_server, assert_no_axe_violations):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.title() == "Startseite – Stadt Musterhausen"
    assert_no_axe_violations(page, "start page (de)")

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title() == "Home – Stadt Musterhausen"
    assert page.get_by_role("link", name="Book an appointment").is_visible()
    assert_no_axe_violations(page, "start page (en)")

    for path in SHELL_PAGES:  # the choice is remembered
        page.goto(live_server.url + path)
        assert page.locator("html").get_attribute("lang") == "en", path
        assert_no_axe_violations(page, f"{path} (en)")

    page.get_by_role("button", name="Deutsch").click()
    page.wait_for_load_state()
    assert page.url.endswith("/barrierefreiheit")
    assert page.locator("html").get_attribute("lang") == "de"
    for path in SHELL_PAGES:
        page.goto(live_server.url + path)
        assert_no_axe_violations(page, f"{path} (de)")


def test_skip_link_moves_focus_to_main(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Zum Inhalt springen")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#main$"))  # the fragment navigation completes after the key press
    assert page.url.endswith("#main")


def test_login_with_csrf_and_failed_login_page_passes_axe(page, live_server, assert_no_axe_violations):
    with live_server.app.app_context():
        make_user("mmueller", display_name="Maria Müller", password="geheim-123")
        db.session.commit()
    page.goto(live_server.url + "/anmelden")
    page.get_by_label("Benutzername").fill("mmueller")
    page.get_by_label("Passwort").fill("falsch")
    page.get_by_role("button", name="Anmelden").click()
    assert page.get_by_role("alert").inner_text().strip() == "Benutzername oder Passwort ist falsch."
    assert_no_axe_violations(page, "failed login")
    page.get_by_label("Passwort").fill("geheim-123")
    page.get_by_role("button", name="Anmelden").click()
    assert page.get_by_role("button", name="Abmelden (Maria Müller)").is_visible()
    assert_no_axe_violations(page, "start page (logged in)")
    page.get_by_role("button", name="Abmelden (Maria Müller)").click()
    assert page.get_by_text("Sie sind abgemeldet.").is_visible()


def test_language_switch_without_javascript(page_without_js, live_server):
    page = page_without_js
    page.goto(live_server.url + "/impressum")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.url.endswith("/impressum")
    assert page.locator("html").get_attribute("lang") == "en"


def test_axe_helper_reports_violations_readably(page, live_server):
    from tests.fixtures.browser import format_axe_violations, run_axe

    page.goto(live_server.url + "/")
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/static/css/site.css';"
                  " i.id = 'no-alt'; document.querySelector('main').appendChild(i); }")
    violations = run_axe(page)
    assert "image-alt" in {v["id"] for v in violations}
    assert "#no-alt" in format_axe_violations(violations)


def test_small_screen_has_no_horizontal_scrolling(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        for path in ("/", "/anmelden"):
            page.goto(live_server.url + path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls horizontally by {overflow}px at 360px"
    finally:
        context.close()


def test_pages_load_the_cut_stylesheet_and_latin_font_subsets(page, live_server):
    """Issue 17.7: one small render-blocking stylesheet, the fonts' Latin subsets; other scripts still get Fira."""
    page.goto(live_server.url + "/")
    page.evaluate("document.fonts.ready")
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)")
    stylesheets = [p for p in loaded if p.endswith(".css")]  # in the order they finished loading
    assert len(stylesheets) == 2 and {p.split("/")[-1].split(".")[0] for p in stylesheets} == {"kern", "site"}, \
        stylesheets
    assert any("/kern/kern.pages." in p for p in stylesheets), stylesheets
    fonts = [p.rsplit("/", 1)[1] for p in loaded if p.endswith(".woff2")]
    assert "FiraSans-Regular.latin.woff2" in fonts and all(f.endswith(".latin.woff2") for f in fonts), fonts
    heading = page.locator("h1")
    assert "Fira Sans" in heading.evaluate("e => getComputedStyle(e).fontFamily")
    assert page.evaluate("document.fonts.check('600 16px \"Fira Sans\"', 'Termine')")
    # KERN's theme rule survived the cut: the body text takes the contextual token, not a fallback colour
    assert page.evaluate(
        "getComputedStyle(document.body).getPropertyValue('--kern-color-layout-text-default-contextual')").strip()

    # a Greek name on the page: the browser fetches the rest of the Regular face for it
    page.evaluate("""() => { const p = document.createElement('p'); p.className = 'kern-body';
                             p.textContent = 'Σωκράτης Παπαδόπουλος'; document.querySelector('main').append(p); }""")
    page.wait_for_function("""() => performance.getEntriesByType('resource')
                                      .some(e => e.name.endsWith('/FiraSans-Regular.woff2'))""")
