"""``GET /api/v1/openapi.json``: an OpenAPI 3.1 document generated from the operation registry,
valid by ``openapi-spec-validator``, in the request's language; ``/api/v1/docs`` lists every
operation without JavaScript and is linked from the footer."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from citizen_portal.core.api import SCOPES, operations


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_document_is_valid_openapi_31(client, lang):
    response = client.get(f"/api/v1/openapi.json?lang={lang}")
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.headers["Content-Language"] == lang
    document = response.json
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_operation_is_documented_with_its_errors_and_scope(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    declared = {(op.method, op.openapi_path) for _, op in operations(app)}
    assert documented == declared and len(declared) >= 24
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            assert op["x-scope"] in SCOPES, (method, path)
            assert op["summary"] and op["operationId"]
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    assert answer["content"]["application/problem+json"]["schema"]["$ref"].endswith("Problem"), \
                        (method, path, status)
    move = document["paths"]["/api/v1/appointments/{code}"]["patch"]
    assert set(move["responses"]) == {"200", "400", "401", "403", "404", "409", "412", "413", "429"}
    assert move["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ChosenTime"}
    assert move["security"] == [{"manageToken": []}]
    rooms = document["paths"]["/api/v1/rooms"]["get"]
    assert rooms["security"] == [{"bearerToken": []}, {"clientCredentials": ["rooms.read"]}]
    assert set(rooms["responses"]) == {"200", "304", "400", "401", "403"}
    slots = document["paths"]["/api/v1/services/{key}/slots"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in slots["parameters"]] == [
        ("key", "path", True), ("from", "query", True), ("to", "query", True), ("location", "query", False),
        ("cursor", "query", False), ("limit", "query", False), ("If-None-Match", "header", False)]


def test_security_schemes_name_the_token_url_and_every_scope(client):
    schemes = client.get("/api/v1/openapi.json").json["components"]["securitySchemes"]
    flow = schemes["clientCredentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(SCOPES)
    assert schemes["bearerToken"] == {"type": "http", "scheme": "bearer", "description": schemes["bearerToken"][
        "description"]}


def test_the_document_speaks_the_request_language(client):
    german = client.get("/api/v1/openapi.json", headers={"Accept-Language": "de"}).json
    english = client.get("/api/v1/openapi.json", headers={"Accept-Language": "en"}).json
    chosen = client.get("/api/v1/openapi.json?lang=en", headers={"Accept-Language": "de"}).json
    assert german["paths"]["/api/v1/appointments"]["post"]["summary"] == "Termin buchen"
    assert english["paths"]["/api/v1/appointments"]["post"]["summary"] == "Book an appointment"
    assert chosen == english
    assert german["info"]["description"] != english["info"]["description"]
    flow = english["components"]["securitySchemes"]["clientCredentials"]["flows"]["clientCredentials"]
    assert flow["scopes"]["rooms.write"] == "Book rooms and cancel room bookings"
    assert english["paths"]["/api/v1/rooms"]["get"]["responses"]["401"]["description"] != \
        german["paths"]["/api/v1/rooms"]["get"]["responses"]["401"]["description"]


def test_the_reference_page_lists_every_operation_and_is_linked_from_the_footer(client):
    start = client.get("/").get_data(as_text=True)
    assert 'href="/api/v1/docs"' in start
    page = client.get("/api/v1/docs", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # scripts only from files (CSP)
    assert "PATCH /api/v1/appointments/{code}" in html and "Book an appointment" in html
    assert html.count('class="api-operation"') == len(operations(client.application))
