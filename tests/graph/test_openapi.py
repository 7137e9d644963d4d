"""``GET /graph/v1.0/openapi.json``: the OpenAPI 3.1 document of the Graph subset, generated from the URL map
and the views, valid by ``openapi-spec-validator``; it lists every served route and method, and the
permission it names for an operation is the one the operation really demands (checked by calling every
operation with a token that holds no Graph permission: 403 exactly where the document names one)."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from citizen_portal.core import api_clients
from citizen_portal.core.graph import PREFIX
from tests.graph.helpers import headers


def test_the_graph_document_is_valid_and_lists_every_route(app, client):
    response = client.get("/graph/v1.0/openapi.json")  # public, like /api/v1/openapi.json
    assert response.status_code == 200 and response.content_type == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": PREFIX}]
    validate(document)
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    served = {(method, re.sub(r"<([^>]+)>", r"{\1}", rule.rule[len(PREFIX):]))
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"} if not rule.rule.endswith("openapi.json")}
    assert documented == served and len(served) >= 60
    create = document["paths"]["/users/{ident}/events"]["post"]
    assert create["x-permission"] == "Calendars.ReadWrite" and "201" in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventInput"}
    event_fields = set(document["components"]["schemas"]["EventInput"]["properties"])
    assert {"transactionId", "isAllDay", "recurrence"} <= event_fields
    view = document["paths"]["/users/{ident}/calendarView"]["get"]
    assert {p["name"]: p["required"] for p in view["parameters"] if p["in"] == "query"}["startDateTime"] is True
    subscribe = document["paths"]["/subscriptions"]["post"]
    assert subscribe["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("SubscriptionInput")
    assert "204" in document["paths"]["/subscriptions/{subscription_id}"]["delete"]["responses"]
    assert "municipal.freeSlots" in " ".join(document["paths"])
    for methods in document["paths"].values():
        for operation in methods.values():
            assert operation["responses"]["404"] == {"$ref": "#/components/responses/GraphError"}


def test_the_documented_permission_is_the_one_demanded(app, client):
    made = api_clients.create_client("Ohne Graph", ["polls.read"])
    token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                              "client_secret": made.client_secret}).get_json()["access_token"]
    document = client.get("/graph/v1.0/openapi.json").get_json()
    checked = 0
    for path, methods in document["paths"].items():
        url = PREFIX + re.sub(r"{[^}]+}", "x", path.replace("{kind}", "microsoft.graph.room"))
        for method, operation in methods.items():
            answer = client.open(url, method=method.upper(), json={}, headers=headers(token))
            if operation["x-permission"]:
                assert answer.status_code == 403, (method, path, answer.get_json())
                assert operation["x-permission"] in answer.get_json()["error"]["message"]
                checked += 1
            else:
                assert answer.status_code != 403, (method, path)
    assert checked >= 50
