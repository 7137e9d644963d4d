"""Errors render as HTML pages, and as RFC 9457 problem details (``application/problem+json`` with
``type``, ``title``, ``status``, ``detail`` and the members ``error`` and ``fields``) under /api/."""

from __future__ import annotations

import pytest
from flask import request

from citizen_portal.core.errors import Conflict, Invalid
from citizen_portal.core.extensions import csrf, db
from tests.factories import build_app


@pytest.fixture
def error_app(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, WTF_CSRF_ENABLED=True, MAX_CONTENT_LENGTH=1024)

    @app.post("/api/test/echo")
    @csrf.exempt  # like an API blueprint authenticated by bearer tokens
    def echo():
        return {"got": request.get_json()}

    @app.post("/api/test/protected")
    def protected():
        return {"ok": True}

    @app.get("/api/test/boom")
    def api_boom():
        raise RuntimeError("secret-token-abc m.mueller@example.org")

    @app.get("/test/boom")
    def html_boom():
        raise RuntimeError("secret-token-abc m.mueller@example.org")

    @app.get("/api/test/invalid")
    def invalid():
        raise Invalid(fields={"email": "Bitte eine E-Mail-Adresse angeben."})

    @app.get("/api/test/conflict")
    def conflict():
        raise Conflict("Schon vergeben.", code="slot_taken", extra={"alternatives": ["10:00"]})

    @app.post("/test/form")
    def form():
        return "ok"

    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def eclient(error_app):
    return error_app.test_client()


def test_404_html_and_json(eclient):
    html = eclient.get("/gibt-es-nicht")
    assert html.status_code == 404
    assert "text/html" in html.content_type
    assert "nicht gefunden" in html.get_data(as_text=True)
    api = eclient.get("/api/gibt-es-nicht")
    assert api.status_code == 404
    assert api.content_type == "application/problem+json"
    assert api.json == {"type": "urn:citizen-portal:problem:not_found", "title": "Nicht gefunden", "status": 404,
                        "detail": "Die Seite oder der Eintrag wurde nicht gefunden.", "error": "not_found",
                        "fields": {}}


def test_404_json_in_english(eclient):
    response = eclient.get("/api/nothing", headers={"Accept-Language": "en"})
    assert response.json["detail"] == "The page or entry was not found."
    assert response.json["title"] == "Not found"


def test_405_names_allowed_methods(eclient):
    response = eclient.get("/api/test/echo")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    assert eclient.delete("/anmelden").status_code == 405


def test_413_oversized_body(eclient):
    response = eclient.post("/api/test/echo", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    html = eclient.post("/test/form", data={"field": "x" * 5000})
    assert html.status_code == 413
    assert "zu groß" in html.get_data(as_text=True)


def test_400_malformed_json(eclient):
    assert eclient.post("/api/test/echo", json={"a": 1}).json == {"got": {"a": 1}}
    response = eclient.post("/api/test/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"] == "bad_request"
    assert set(response.json) == {"type", "title", "status", "detail", "error", "fields"}


def test_csrf_failure_on_form_and_api(eclient):
    html = eclient.post("/test/form", data={"a": "b"})
    assert html.status_code == 400
    assert "Formular ist abgelaufen" in html.get_data(as_text=True)
    api = eclient.post("/api/test/protected", json={"a": 1})
    assert api.status_code == 400
    assert api.json["error"] == "csrf_failed"


def test_500_generic_message_without_traceback(eclient, caplog):
    for path in ("/api/test/boom", "/test/boom"):
        response = eclient.get(path)
        assert response.status_code == 500
        body = response.get_data(as_text=True)
        assert "secret-token-abc" not in body
        assert "Traceback" not in body
        assert "RuntimeError" not in body
    assert eclient.get("/api/test/boom").json == {
        "type": "urn:citizen-portal:problem:internal_error", "title": "Interner Fehler", "status": 500,
        "detail": "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später.",
        "error": "internal_error", "fields": {},
    }


def test_domain_errors_as_json(eclient):
    invalid = eclient.get("/api/test/invalid")
    assert invalid.status_code == 400
    assert invalid.json == {"type": "urn:citizen-portal:problem:invalid", "title": "Ungültige Anfrage",
                            "status": 400, "detail": "Bitte prüfen Sie Ihre Eingaben.", "error": "invalid",
                            "fields": {"email": "Bitte eine E-Mail-Adresse angeben."}}
    conflict = eclient.get("/api/test/conflict")
    assert conflict.status_code == 409
    assert conflict.json["error"] == "slot_taken"
    assert conflict.json["alternatives"] == ["10:00"]


def test_error_page_is_a_full_layout_page(eclient):
    body = eclient.get("/nix").get_data(as_text=True)
    assert '<html lang="de">' in body
    assert 'id="main"' in body
    assert "<title>Fehler 404 – " in body
