"""The ``/api/v1`` operation registry: every API route is a declared operation with a known scope,
and every operation passes the one access hook (``citizen_portal.core.api.authorize``)."""

from __future__ import annotations

import pytest
from flask import Blueprint

from citizen_portal.core import api
from citizen_portal.core.api import SCOPES, USER, Out, operation, operations
from citizen_portal.core.i18n import _l

UNDECLARED = {"/api/v1/openapi.json", "/api/v1/docs"}  # the document and its reference page


def test_every_api_route_is_a_declared_operation(app):
    declared = {rule for rule, _ in operations(app)}
    api_rules = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert api_rules - declared <= UNDECLARED
    assert len(operations(app)) >= 24  # booking 7, desks and rooms 10, polls and suggestions 7


def test_every_operation_names_a_known_scope_and_a_success_answer(app):
    for rule, declared in operations(app):
        assert declared.scope in SCOPES, rule
        assert 200 <= declared.success_status < 300, rule
        assert declared.openapi_path.startswith("/api/v1/") and "<" not in declared.openapi_path
        if declared.access == USER:  # staff operations, and the room admin's decisions (issue 16)
            assert declared.roles in (("staff",), ("room_admin",)), rule


def test_operations_pass_the_access_hook(app, client, monkeypatch):
    seen = []
    original = api.authorize
    monkeypatch.setattr(api, "authorize", lambda declared: (seen.append(declared.endpoint), original(declared)))
    assert client.get("/api/v1/services").status_code == 200
    assert client.get("/api/v1/rooms").status_code == 401
    assert seen == ["booking_api.list_services", "spaces_api.list_rooms"]


def test_declaration_errors_are_caught_at_import():
    bp = Blueprint("probe", __name__)
    with pytest.raises(ValueError, match="unknown scope"):
        operation(bp, "GET", "/x", summary=_l("x"), scope="everything", responses={200: Out})
    with pytest.raises(ValueError, match="no success response"):
        operation(bp, "GET", "/x", summary=_l("x"), scope="rooms.read", responses={404: Out})


@pytest.mark.parametrize("path", ["/api/v1/polls/2147483648", "/api/v1/suggestions/99999999999999999999",
                                  "/api/v1/polls/2147483648/results"])
def test_an_id_beyond_the_columns_is_not_found_not_a_server_error(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.json["error"] == "not_found"
