"""``/api/v1/docs`` in Chromium: the self-hosted Swagger UI renders every operation from the served
document with no request to another host, no Content-Security-Policy violation (the ``page`` fixture
fails on either) and no axe violation; without JavaScript the server-rendered list is the reference."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

OPERATIONS = 32  # booking 7, desks and rooms 10, polls and suggestions 7, webhooks 8


def test_swagger_ui_renders_every_operation_self_hosted(page, live_server, assert_no_axe_violations):
    page.goto(live_server.url + "/api/v1/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() == OPERATIONS
    assert page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/appointments/{code}").count() == 3
    assert page.get_by_text("Termin buchen").first.is_visible()
    page.locator(".swagger-ui .opblock-summary-control").first.click()  # open one operation
    page.locator(".swagger-ui .opblock-body").first.wait_for()
    assert_no_axe_violations(page, "API reference (Swagger UI)")
    assert page.external_requests == []


def test_the_reference_works_without_javascript(page_without_js, live_server):
    # (axe needs JavaScript in the page; the list is plain headings, lists and code)
    page_without_js.goto(live_server.url + "/api/v1/docs?lang=en")
    assert page_without_js.locator(".api-operation").count() == OPERATIONS
    assert page_without_js.get_by_text("POST /api/v1/desk-bookings", exact=True).is_visible()
    assert page_without_js.get_by_role("heading", name="desks").is_visible()
