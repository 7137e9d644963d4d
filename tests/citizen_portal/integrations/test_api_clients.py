"""API clients: the CLI, OAuth 2.0 client credentials (``POST /oauth/token``), scopes and principals."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from citizen_portal.core import api_clients
from citizen_portal.core.api_tokens import create_api_token
from citizen_portal.core.database import utcnow
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiAccessToken, ApiClient
from citizen_portal.core.security import token_hash
from tests.factories import build_app, make_user


def _token(client, client_id: str, secret: str, **form) -> dict:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                 "client_secret": secret, **form})
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_cli_creates_a_client_and_shows_the_secret_once(app):
    make_user("disp", roles="staff")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-clients", "create", "Standesamt", "--scope", "appointments.read",
                                 "--scope", "webhooks.manage", "--location", "7", "--staff", "disp"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    client_id, secret = lines["client_id"], lines["client_secret"]
    assert client_id.startswith("cli_") and secret.startswith("cs_")
    row = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    assert row.secret_hash == token_hash(secret) and secret not in str(row.__dict__)
    assert row.scopes == ["appointments.read", "webhooks.manage"]
    assert row.location_ids == [7] and row.staff_usernames == ["disp"]
    listed = runner.invoke(args=["api-clients", "list"])
    assert client_id in listed.output and secret not in listed.output and "locations=7" in listed.output

    rotated = runner.invoke(args=["api-clients", "rotate", client_id])
    new_secret = dict(line.split(": ", 1) for line in rotated.stdout.splitlines() if ": " in line)["client_secret"]
    assert new_secret != secret
    assert runner.invoke(args=["api-clients", "revoke", client_id]).exit_code == 0
    assert "revoked" in runner.invoke(args=["api-clients", "list"]).output


def test_the_cli_refuses_unknown_scopes_and_staff(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["api-clients", "create", "X", "--scope", "everything"]).exit_code != 0
    result = runner.invoke(args=["api-clients", "create", "X", "--scope", "rooms.read", "--staff", "nobody"])
    assert result.exit_code != 0 and "nobody" in result.output
    assert db.session.scalar(select(ApiClient)) is None


def test_client_credentials_give_an_expiring_bearer_token(app, client):
    made = api_clients.create_client("Website", ["rooms.read", "webhooks.manage"])
    body = _token(client, made.client_id, made.client_secret)
    assert body["token_type"] == "Bearer" and body["expires_in"] == app.config["OAUTH_TOKEN_SECONDS"]
    assert body["scope"] == "rooms.read webhooks.manage" and body["access_token"].startswith("cat_")
    stored = db.session.scalar(select(ApiAccessToken))
    assert stored.token_hash == token_hash(body["access_token"])  # only the hash is stored

    principal = api_clients.principal_for_token(body["access_token"])
    assert principal.kind == "client" and principal.has("rooms.read") and not principal.has("rooms.write")
    later = utcnow() + timedelta(seconds=app.config["OAUTH_TOKEN_SECONDS"] + 1)
    assert api_clients.principal_for_token(body["access_token"], now=later) is None


def test_http_basic_and_a_scope_subset(client):
    made = api_clients.create_client("Bot", ["appointments.write", "webhooks.manage"])
    basic = base64.b64encode(f"{quote(made.client_id)}:{quote(made.client_secret)}".encode()).decode()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "appointments.read"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    token = response.get_json()
    assert token["scope"] == "appointments.read"  # included in appointments.write
    principal = api_clients.principal_for_token(token["access_token"])
    assert principal.scopes == frozenset({"appointments.read"})


@pytest.mark.parametrize("form,status,error", [
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
    ({"client_secret": "cs_wrong"}, 401, "invalid_client"),
    ({"client_id": "cli_nobody"}, 401, "invalid_client"),
    ({"scope": "rooms.read polls.manage"}, 400, "invalid_scope"),
    ({"scope": "nonsense"}, 400, "invalid_scope"),
])
def test_token_errors_follow_rfc_6749(client, form, status, error):
    made = api_clients.create_client("Bot", ["rooms.read"])
    data = {"grant_type": "client_credentials", "client_id": made.client_id, "client_secret": made.client_secret}
    data.update(form)
    response = client.post("/oauth/token", data=data)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == error and body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(ApiAccessToken)) is None


def test_a_json_body_is_an_invalid_request(client):
    made = api_clients.create_client("Bot", ["rooms.read"])
    response = client.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": made.client_id,
                                                 "client_secret": made.client_secret})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_rotating_or_revoking_ends_the_tokens(client):
    made = api_clients.create_client("Bot", ["webhooks.manage"])
    token = _token(client, made.client_id, made.client_secret)["access_token"]
    assert client.get("/api/v1/webhooks", headers=_bearer(token)).status_code == 200
    rotated = api_clients.rotate_secret(made.client.id)
    assert client.get("/api/v1/webhooks", headers=_bearer(token)).status_code == 401
    assert client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                             "client_secret": made.client_secret}).status_code == 401
    token = _token(client, made.client_id, rotated.client_secret)["access_token"]
    api_clients.revoke_client(made.client.id)
    assert client.get("/api/v1/webhooks", headers=_bearer(token)).status_code == 401
    assert client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": made.client_id,
                                             "client_secret": rotated.client_secret}).status_code == 401


def test_a_token_without_the_scope_gets_403_insufficient_scope(client):
    made = api_clients.create_client("Reader", ["rooms.read"])
    token = _token(client, made.client_id, made.client_secret)["access_token"]
    response = client.get("/api/v1/webhooks", headers=_bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"
    assert 'scope="webhooks.manage"' in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/webhooks").status_code == 401
    assert client.get("/api/v1/webhooks", headers=_bearer("cat_unknown")).status_code == 401


def test_personal_tokens_keep_working_with_the_scopes_of_their_roles(app, client):
    make_user("staffer", roles="staff")
    make_user("boss", roles="admin")
    staff_token = create_api_token("staffer", "script")
    staff = api_clients.principal_for_token(staff_token)
    assert staff.kind == "user" and staff.has("desks.write") and staff.has("desks.read")
    assert not staff.has("polls.manage") and not staff.has("webhooks.manage")
    admin = api_clients.principal_for_token(create_api_token("boss", "script"))
    assert admin.has("webhooks.manage") and admin.has("Bookings.ReadWrite.All")
    # a person's token still reaches the staff API it always did
    assert client.get("/api/v1/desk-bookings", headers=_bearer(staff_token)).status_code == 200


def test_a_client_cannot_act_as_a_person_on_staff_endpoints(client):
    made = api_clients.create_client("Bot", ["desks.write"])
    token = _token(client, made.client_id, made.client_secret)["access_token"]
    response = client.get("/api/v1/desk-bookings", headers=_bearer(token))
    assert response.status_code == 403


def test_the_token_endpoint_is_rate_limited(fresh_database_url, tmp_path):
    from citizen_portal.core.extensions import limiter

    was_enabled = limiter.enabled  # the limiter is one object: switching it on here must not outlive the test
    try:
        limited = build_app(fresh_database_url, tmp_path, RATELIMIT_ENABLED=True,
                            OAUTH_TOKEN_RATE_LIMIT="2 per minute")
        http = limited.test_client()
        answers = [http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "cli_x",
                                                   "client_secret": "cs_y"}) for _ in range(3)]
    finally:
        limiter.enabled = was_enabled
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[2].headers["Retry-After"].isdigit() and answers[2].get_json()["error"] == "rate_limited"


def test_a_client_with_appointments_write_books_without_the_captcha(app, client, monkeypatch):
    """Software that authenticated with appointments.write needs no proof of work; anonymous callers and
    clients without the scope still do."""
    from tests.citizen_portal.booking.factories import make_setup
    from tests.citizen_portal.booking.test_api import body, start_at
    from tests.factories import not_a_holiday

    monkeypatch.setitem(app.config, "CAPTCHA", "on")
    location, service, _ = make_setup(holidays=None)
    day = not_a_holiday(date.today() + timedelta(days=3))
    writer = _token(client, *_secret(api_clients.create_client("Fachanwendung", ["appointments.write"])))
    reader = _token(client, *_secret(api_clients.create_client("Anzeige", ["appointments.read"])))

    anonymous = client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9)))
    assert anonymous.status_code == 400 and "altcha" in anonymous.get_json()["fields"]
    without_scope = client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9)),
                                headers=_bearer(reader["access_token"]))
    assert without_scope.status_code == 403
    booked = client.post("/api/v1/appointments", json=body(service, location, start_at(day, 9)),
                         headers=_bearer(writer["access_token"]))
    assert booked.status_code == 201, booked.get_json()


def _secret(made) -> tuple[str, str]:
    return made.client_id, made.client_secret
