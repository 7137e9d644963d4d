"""Issue 18.12: API tokens expire (default ``API_TOKEN_DAYS``, ``--days``), an expired token gets 401,
and ``last_used_at`` is written at most once a minute and listed by ``flask users token list``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from citizen_portal.core import api_tokens
from citizen_portal.core.errors import Invalid
from citizen_portal.core.extensions import db
from citizen_portal.core.models import ApiToken
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _row() -> ApiToken:
    row = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    db.session.refresh(row)
    return row


def test_a_token_expires_after_the_default_days(app):
    make_user("fachverfahren")
    token = api_tokens.create_api_token("fachverfahren", "Fachverfahren X", now=NOW)
    assert _row().expires_at == NOW + timedelta(days=app.config["API_TOKEN_DAYS"]) == NOW + timedelta(days=90)
    assert api_tokens.user_for_token(token, now=NOW + timedelta(days=89, hours=23)).username == "fachverfahren"
    assert api_tokens.user_for_token(token, now=NOW + timedelta(days=90)) is None


def test_days_are_chosen_and_checked(app):
    make_user("fachverfahren")
    token = api_tokens.create_api_token("fachverfahren", "kurz", 7, now=NOW)
    assert api_tokens.user_for_token(token, now=NOW + timedelta(days=7, seconds=-1)) is not None
    assert api_tokens.user_for_token(token, now=NOW + timedelta(days=7)) is None
    for days in (0, -5, api_tokens.MAX_TOKEN_DAYS + 1):
        with pytest.raises(Invalid):
            api_tokens.create_api_token("fachverfahren", "falsch", days)


def test_last_used_is_written_at_most_once_a_minute(app):
    make_user("fachverfahren")
    token = api_tokens.create_api_token("fachverfahren", "t", now=NOW)
    assert _row().last_used_at is None
    api_tokens.user_for_token(token, now=NOW + timedelta(minutes=5))
    assert _row().last_used_at == NOW + timedelta(minutes=5)
    api_tokens.user_for_token(token, now=NOW + timedelta(minutes=5, seconds=59))
    assert _row().last_used_at == NOW + timedelta(minutes=5)
    api_tokens.user_for_token(token, now=NOW + timedelta(minutes=6))
    assert _row().last_used_at == NOW + timedelta(minutes=6)
    api_tokens.user_for_token("cpt_wrong", now=NOW + timedelta(minutes=9))
    assert _row().last_used_at == NOW + timedelta(minutes=6)


def test_an_expired_token_gets_401_on_the_api(app, client):
    make_user("fachverfahren")
    token = api_tokens.create_api_token("fachverfahren", "t", 1, now=datetime.now(UTC) - timedelta(days=2))
    response = client.get("/api/v1/desk-bookings", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["detail"] == "Das API-Token ist ungültig, abgelaufen oder widerrufen."
    english = client.get("/api/v1/desk-bookings", headers={"Authorization": f"Bearer {token}",
                                                           "Accept-Language": "en"})
    assert english.json["detail"] == "The API token is invalid, expired or revoked."
    fresh = api_tokens.create_api_token("fachverfahren", "t2")
    assert client.get("/api/v1/desk-bookings", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert _row().last_used_at is not None


def test_the_cli_creates_with_days_and_lists_expiry_and_last_use(app):
    make_user("fachverfahren")
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "token", "create", "fachverfahren", "Fachverfahren X", "--days", "30"])
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    assert token.startswith("cpt_")
    api_tokens.user_for_token(token)
    listed = runner.invoke(args=["users", "token", "list", "fachverfahren"])
    header, line = listed.output.strip().splitlines()
    assert header.split("\t") == ["id", "name", "created", "expires", "last used", "revoked"]
    _id, name, created_at, expires, last_used, revoked = line.split("\t")
    assert name == "Fachverfahren X" and revoked == "-" and last_used != "-"
    assert datetime.fromisoformat(expires) - datetime.fromisoformat(created_at) == timedelta(days=30)
    refused = runner.invoke(args=["users", "token", "create", "fachverfahren", "x", "--days", "0"])
    assert refused.exit_code != 0
