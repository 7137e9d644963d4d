"""Every ``/api/v1`` operation of the registry refuses an API client's token without its scope (403
``insufficient_scope``), lets one with the scope past the scope check, and a person's roles imply the
scopes of the operations they may call."""

from __future__ import annotations

import re

import pytest

from citizen_portal.core import api_clients
from citizen_portal.core.api import USER, operations
from citizen_portal.core.scopes import SCOPES, expand, scopes_for_roles


def _path(rule: str) -> str:
    """A concrete URL for a rule: ints become 1, other variables ``x``."""
    return re.sub(r"<int:[a-z_]+>", "1", re.sub(r"<(?:string:)?[a-z_]+>", "x", rule))


def _token(client, scopes: list[str]) -> str:
    made = api_clients.create_client("probe", scopes)
    answer = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                               "client_secret": made.client_secret})
    return answer.get_json()["access_token"]


def _call(client, method: str, rule: str, token: str):
    return client.open(_path(rule), method=method, json={}, headers={"Authorization": f"Bearer {token}"})


def test_every_operation_refuses_a_token_without_its_scope(app, client):
    registered = operations(app)
    assert len(registered) >= 32
    tokens: dict[str, str] = {}
    for rule, declared in registered:
        others = [name for name in SCOPES if declared.scope not in expand([name])]
        token = tokens.setdefault(declared.scope, _token(client, others))  # every scope but this one
        response = _call(client, declared.method, rule, token)
        assert response.status_code == 403, (declared.method, rule, response.status_code)
        assert response.get_json()["error"] == "insufficient_scope", (declared.method, rule)
        assert f'scope="{declared.scope}"' in response.headers["WWW-Authenticate"]


def test_a_token_with_the_scope_passes_the_scope_check(app, client):
    for rule, declared in operations(app):
        response = _call(client, declared.method, rule, _token(client, [declared.scope]))
        body = response.get_json(silent=True) or {}
        assert body.get("error") != "insufficient_scope", (declared.method, rule)
        if declared.access == USER:  # acts as a person: a client holds no role
            assert response.status_code == 403 and body["error"] == "forbidden"


def test_a_persons_roles_imply_the_scopes_of_the_operations_they_may_call(app):
    for rule, declared in operations(app):
        if declared.access == USER:
            for role in declared.roles:
                assert declared.scope in scopes_for_roles([role]), (rule, role)


@pytest.mark.parametrize("token", ["cat_nonsense", "cpt_nonsense"])
def test_an_unknown_token_is_401_on_operations_that_take_tokens(client, token):
    response = client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    response = client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_client_restricted_to_locations_sees_only_those(app, client):
    from tests.factories import make_location, make_service

    mine, other = make_location("buergeramt"), make_location("rathaus")
    make_service("ausweis", locations=[mine, other])
    made = api_clients.create_client("Bot", ["appointments.write"], location_ids=[mine.id])
    token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                              "client_secret": made.client_secret}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    [service] = client.get("/api/v1/services", headers=headers).get_json()["services"]
    assert service["locations"] == ["buergeramt"]
    assert client.get("/api/v1/services").get_json()["services"][0]["locations"] == ["buergeramt", "rathaus"]
    slots = "/api/v1/services/ausweis/slots?from=2030-01-07&to=2030-01-08"
    assert client.get(slots, headers=headers).status_code == 400  # must name its location
    assert client.get(slots + "&location=rathaus", headers=headers).status_code == 404
    assert client.get(slots + "&location=buergeramt", headers=headers).status_code == 200
    booking = {"service": "ausweis", "location": "rathaus", "start": "2030-01-07T10:00:00+01:00",
               "name": "A", "email": "a@example.org", "privacy_consent": True}
    assert client.post("/api/v1/appointments", json=booking, headers=headers).status_code == 404
