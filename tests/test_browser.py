"""Chromium through Playwright on a live server: language switch and axe checks on the shell pages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_start_page_in_chromium_passes_axe(page, live_server, assert_no_axe_violations):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert_no_axe_violations(page, "start page (de)")


def test_axe_helper_reports_violations_readably(page, live_server):
    from tests.fixtures.browser import format_axe_violations, run_axe

    page.goto(live_server.url + "/")
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/static/css/site.css';"
                  " i.id = 'no-alt'; document.querySelector('main').appendChild(i); }")
    violations = run_axe(page)
    assert "image-alt" in {v["id"] for v in violations}
    assert "#no-alt" in format_axe_violations(violations)
