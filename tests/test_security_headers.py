"""Security headers (issue 18, finding 7): CSP without inline script or style, no framing, nosniff,
Referrer-Policy, and no caching of private answers. The attacks run in Chromium."""

from __future__ import annotations

import pytest

from citizen_portal.core.extensions import db
from tests.factories import build_app, login, make_user

pytestmark = pytest.mark.browser


def test_every_answer_carries_the_headers(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path)
    client = app.test_client()
    for path in ("/", "/termine/", "/anmelden", "/api/v1/services", "/healthz", "/nicht-da"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
    # a public answer without a session may be cached; one with a per-session CSRF token may not
    assert "no-store" not in app.test_client().get("/api/v1/services").headers.get("Cache-Control", "")
    assert app.test_client().get("/anmelden").headers["Cache-Control"] == "no-store"


def test_private_pages_are_not_stored_by_caches(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        make_user("staffer", roles="staff")
        db.engine.dispose()
    client = app.test_client()
    login(client, "staffer")
    for path in ("/", "/arbeitsplaetze/", "/mitarbeitende/heute"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path




def test_a_staff_page_cannot_be_framed_by_another_site(browser, live_server):
    with live_server.app.app_context():
        make_user("staffer", roles="staff")
        db.session.commit()
    context = browser.new_context()
    try:
        login_page = context.new_page()
        login_page.goto(live_server.url + "/anmelden")
        login_page.fill("#username", "staffer")
        login_page.fill("#password", "pw")
        login_page.locator("form button[type=submit]").last.click()
        attacker = context.new_page()
        errors: list[str] = []
        attacker.on("console", lambda message: errors.append(message.text))
        # another origin (the hostname differs) framing the staff page with the staffer's cookies
        attacker.set_content(f'<iframe src="{live_server.url}/arbeitsplaetze/" width="800" height="600"></iframe>')
        attacker.wait_for_timeout(1000)
        framed = attacker.frames[1]
        assert "Arbeitsplätze" not in (framed.content() if framed.url.startswith("http") else "")
        assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in errors), errors
    finally:
        context.close()


def test_inline_script_injected_into_a_page_does_not_run(browser, live_server):
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(live_server.url + "/")
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = 'document.title = "pwned"'; document.body.appendChild(s); }""")
        page.wait_for_timeout(300)
        assert page.title() != "pwned"
        assert any("Content Security Policy" in text for text in errors), errors
    finally:
        context.close()
