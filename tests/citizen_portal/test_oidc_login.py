"""Staff single sign-on with OpenID Connect against a real provider (pyOP on loopback,
``tests/fixtures/oidc_provider.py``): discovery, authorisation code with PKCE, state and nonce,
roles from the groups claim, accounts linked by the stable subject, RP-initiated logout, local
accounts switchable off."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from citizen_portal.core.extensions import db
from citizen_portal.core.models import User
from tests.factories import build_app, make_user

SUBJECT = "2c1f0e9a-8d4b-4a57-9a0e-5f3e6b7c8d90"


@pytest.fixture
def sso(openid_provider, fresh_database_url, tmp_path):
    openid_provider.users["maria"] = {"sub": SUBJECT, "preferred_username": "mmueller", "name": "Maria Müller",
                                      "email": "m.mueller@musterhausen.example", "groups": ["/termine-staff"]}
    openid_provider.login_as = "maria"
    app = build_app(fresh_database_url, tmp_path, **openid_provider.settings)
    yield app, openid_provider
    with app.app_context():
        db.engine.dispose()


def to_provider(client, next_url: str = "/") -> str:
    answer = client.get(f"/anmelden/oidc?next={next_url}")
    assert answer.status_code == 302
    return answer.headers["Location"]


def back_from_provider(client, authorize_url: str):
    """What the browser does: the provider logs the user in and sends it back with a code."""
    at_provider = requests.get(authorize_url, allow_redirects=False, timeout=30)
    assert at_provider.status_code == 303, at_provider.text
    callback = urlsplit(at_provider.headers["Location"])
    assert callback.path == "/anmelden/oidc/callback"
    return client.get(f"{callback.path}?{callback.query}")


def sign_in(client, next_url: str = "/"):
    return back_from_provider(client, to_provider(client, next_url))


def accounts(app) -> list[User]:
    with app.app_context():
        users = db.session.scalars(select(User).order_by(User.id)).all()
        db.session.expunge_all()
        return users


def test_code_flow_with_pkce_state_and_nonce_creates_the_account(sso):
    app, provider = sso
    client = app.test_client()
    authorize_url = to_provider(client, "/mitarbeitende/heute")
    assert authorize_url.startswith(f"{provider.issuer}/authorize?")  # found by discovery
    answer = back_from_provider(client, authorize_url)
    assert answer.status_code == 303 and answer.headers["Location"] == "/mitarbeitende/heute"
    [sent] = provider.requests
    assert sent["response_type"] == "code" and sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) >= 43 and sent["state"] and sent["nonce"]
    [user] = accounts(app)
    assert (user.username, user.roles, user.oidc_subject, user.oidc_issuer) == \
        ("mmueller", "staff", SUBJECT, provider.issuer)
    assert user.display_name == "Maria Müller" and user.password_hash is None
    with client.session_transaction() as session:
        assert session["_user_id"].startswith(f"{user.id}:")  # logged in
        assert session["oidc_id_token"].count(".") == 2  # kept for the logout's id_token_hint


def test_roles_follow_the_provider_and_the_subject_not_the_email_links(sso):
    app, provider = sso
    with app.app_context():
        make_user("mmueller", roles="admin", email="m.mueller@musterhausen.example")  # a local account
        db.session.commit()
    assert sign_in(app.test_client()).status_code == 303
    local, linked = accounts(app)
    assert local.oidc_subject is None and local.roles == "admin"  # never linked by name or e-mail
    assert linked.username.startswith("mmueller-") and linked.roles == "staff"
    provider.users["maria"]["groups"] = ["/termine-staff", "termine-admins", "/unrelated"]
    assert sign_in(app.test_client()).status_code == 303
    assert [user.roles for user in accounts(app)] == ["admin", "staff,admin"]  # same account, new roles
    provider.users["maria"]["groups"] = ["/unrelated"]
    refused = sign_in(app.test_client())
    assert refused.status_code == 403
    assert len(accounts(app)) == 2


def test_an_administrator_links_a_local_account_explicitly(sso):
    app, _ = sso
    with app.app_context():
        make_user("maria", roles="staff")
        db.session.commit()
    out = app.test_cli_runner().invoke(args=["users", "link-oidc", "maria", SUBJECT])
    assert out.exit_code == 0, out.output
    assert sign_in(app.test_client()).status_code == 303
    [user] = accounts(app)
    assert user.username == "maria" and user.oidc_subject == SUBJECT


def test_a_forged_state_or_a_reused_code_logs_nobody_in(sso):
    app, _ = sso
    client = app.test_client()
    at_provider = requests.get(to_provider(client), allow_redirects=False, timeout=30)
    callback = urlsplit(at_provider.headers["Location"])
    query = parse_qs(callback.query)
    forged = client.get(f"{callback.path}?code={query['code'][0]}&state=forged")
    assert forged.status_code == 400 and "Identitätsdienst" in forged.get_data(as_text=True)
    other = app.test_client()  # a session that never started this login
    assert other.get(f"{callback.path}?{callback.query}").status_code == 400
    assert accounts(app) == []
    ok = app.test_client()
    at_provider = requests.get(to_provider(ok), allow_redirects=False, timeout=30)
    callback = urlsplit(at_provider.headers["Location"])
    assert ok.get(f"{callback.path}?{callback.query}").status_code == 303
    # the code once more, in a login that has its own valid state: the provider refuses the used code
    again = app.test_client()
    fresh_state = parse_qs(urlsplit(to_provider(again)).query)["state"][0]
    code = parse_qs(callback.query)["code"][0]
    assert again.get(f"{callback.path}?code={code}&state={fresh_state}").status_code == 400
    with again.session_transaction() as session:
        assert "_user_id" not in session
    assert len(accounts(app)) == 1


def test_logout_ends_the_providers_session_too(sso):
    app, provider = sso
    client = app.test_client()
    assert sign_in(client).status_code == 303
    answer = client.post("/abmelden")
    assert answer.status_code == 303
    end_session = urlsplit(answer.headers["Location"])
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == f"{provider.issuer}/logout"
    params = parse_qs(end_session.query)
    assert params["post_logout_redirect_uri"] == ["http://localhost/"] and params["id_token_hint"]
    at_provider = requests.get(answer.headers["Location"], allow_redirects=False, timeout=30)
    assert at_provider.status_code == 303 and at_provider.headers["Location"].startswith("http://localhost/")
    assert len(provider.logouts) == 1
    with client.session_transaction() as session:
        assert "_user_id" not in session and "oidc_id_token" not in session


def test_local_accounts_can_be_switched_off(openid_provider, fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, LOCAL_LOGIN=False, **openid_provider.settings)
    with app.app_context():
        make_user("local", roles="admin", password="secret-pw-1")
        db.session.commit()
    client = app.test_client()
    page = client.get("/anmelden").get_data(as_text=True)
    assert 'name="password"' not in page and "/anmelden/oidc" in page
    assert client.post("/anmelden", data={"username": "local", "password": "secret-pw-1"}).status_code == 404


def test_without_an_issuer_there_is_no_single_sign_on(app, client):
    assert client.get("/anmelden/oidc").status_code == 404
    assert "/anmelden/oidc" not in client.get("/anmelden").get_data(as_text=True)
