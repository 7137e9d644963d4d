"""``/api/v1/docs`` in Chromium: the self-hosted Swagger UI renders every operation from the served
document with no request to another host, no Content-Security-Policy violation (the ``page`` fixture
fails on either) and no axe violation; without JavaScript the server-rendered list is the reference."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.browser
METHODS = {"get", "put", "post", "delete", "patch"}


def operations_in_the_document(url: str) -> int:
    """Every operation of the served document (the reference must show each of them)."""
    document = requests.get(url + "/api/v1/openapi.json", timeout=30).json()
    return sum(1 for item in document["paths"].values() for method in item if method in METHODS)


def test_swagger_ui_renders_every_operation_self_hosted(page, live_server, assert_no_axe_violations):
    page.goto(live_server.url + "/api/v1/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    operations = operations_in_the_document(live_server.url)
    assert operations >= 44  # booking 7, desks and rooms 10, public rooms 5, fair access 7, polls 7, webhooks 8
    assert page.locator(".swagger-ui .opblock").count() == operations
    assert page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/appointments/{code}").count() == 3
    assert page.get_by_text("Termin buchen").first.is_visible()
    page.locator(".swagger-ui .opblock-summary-control").first.click()  # open one operation
    page.locator(".swagger-ui .opblock-body").first.wait_for()
    assert_no_axe_violations(page, "API reference (Swagger UI)")
    assert page.external_requests == []


def test_the_reference_works_without_javascript(page_without_js, live_server):
    # (axe needs JavaScript in the page; the list is plain headings, lists and code)
    page_without_js.goto(live_server.url + "/api/v1/docs?lang=en")
    assert page_without_js.locator(".api-operation").count() == operations_in_the_document(live_server.url)
    assert page_without_js.get_by_text("POST /api/v1/desk-bookings", exact=True).is_visible()
    assert page_without_js.get_by_role("heading", name="desks").is_visible()
