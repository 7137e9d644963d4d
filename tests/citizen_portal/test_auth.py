"""Staff login/logout, session hardening, rate limit, API authentication, users CLI."""

from __future__ import annotations

import re

import pytest
from flask import jsonify
from flask_login import current_user

from citizen_portal.auth import services
from citizen_portal.core import api_tokens
from citizen_portal.core.access import api_login_required, roles_required
from citizen_portal.core.extensions import csrf, db
from citizen_portal.core.models import ApiToken, User
from tests.factories import build_app, login, make_user

GENERIC_ERROR = "Benutzername oder Passwort ist falsch."


def test_login_page_has_form_with_labels(client):
    body = client.get("/anmelden").get_data(as_text=True)
    assert '<label class="kern-label" for="username">' in body
    assert 'autocomplete="current-password"' in body
    assert "<title>Anmeldung für Mitarbeitende – " in body


def test_login_success_sets_hardened_session_cookie_and_redirects_to_next(app, client):
    make_user("mmueller", password="geheim-123")
    response = client.post("/anmelden", data={"username": "mmueller", "password": "geheim-123",
                                              "next": "/arbeitsplaetze?tag=1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/arbeitsplaetze?tag=1"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert session["_user_id"]
    assert db.session.scalar(db.select(User.last_login_at).where(User.username == "mmueller")) is not None


def test_session_cookie_secure_outside_debug_and_testing(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, TESTING=False, SESSION_COOKIE_SECURE=None)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil"])
def test_login_ignores_foreign_next(app, client, target):
    make_user("mmueller")
    response = client.post("/anmelden", data={"username": "mmueller", "password": "pw", "next": target})
    assert response.headers["Location"] == "/"


def test_wrong_password_unknown_user_and_inactive_user_get_the_same_message(app, client):
    make_user("mmueller", password="right")
    make_user("gone", password="right", active=False)
    bodies = []
    for username, password in (("mmueller", "wrong"), ("nobody", "right"), ("gone", "right")):
        response = client.post("/anmelden", data={"username": username, "password": password})
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert GENERIC_ERROR in body
        bodies.append(body.replace(username, "USER"))
        with client.session_transaction() as session:
            assert "_user_id" not in session
    assert len(set(bodies)) == 1


def test_login_starts_a_fresh_session(app, client):
    make_user("mmueller")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    login(client, "mmueller")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_logout_is_post_only_and_clears_session(app, client):
    make_user("mmueller")
    login(client, "mmueller")
    assert client.get("/abmelden").status_code == 405
    response = client.post("/abmelden")
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert "Sie sind abgemeldet." in client.get("/").get_data(as_text=True)


def test_login_and_logout_need_csrf_token(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_user("mmueller")
        db.session.commit()
    client = app.test_client()
    response = client.post("/anmelden", data={"username": "mmueller", "password": "pw"})
    assert response.status_code == 400
    assert login(client, "mmueller").status_code == 303
    assert client.post("/abmelden").status_code == 400
    with app.app_context():
        db.engine.dispose()


def test_login_is_rate_limited_per_client(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.post("/anmelden", data={"username": "x", "password": "y"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Zu viele Anfragen" in client.post("/anmelden", data={}).get_data(as_text=True)
    assert client.get("/anmelden").status_code == 200  # only the POST is limited
    other = client.post("/anmelden", data={"username": "x", "password": "y"},
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 400
    with app.app_context():
        db.engine.dispose()


def test_password_hash_is_argon2_and_rehashed_when_outdated(app):
    from argon2 import PasswordHasher

    user = make_user("mmueller", password="x")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("geheim-123")
    db.session.commit()
    assert services.authenticate("mmueller", "geheim-123") is not None
    assert services.authenticate("MMueller", "geheim-123") is not None
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")
    assert "m=8," not in db.session.get(User, user.id).password_hash


def test_create_user_rules(app):
    from citizen_portal.core.errors import Conflict, Invalid

    user = services.create_user("Anna.Admin", "Anna", email="anna@example.org", roles="staff, poll_admin",
                                password="geheim-123")
    assert (user.username, user.roles) == ("anna.admin", "staff,poll_admin")
    with pytest.raises(Conflict):
        services.create_user("anna.admin", "Anna 2", password="geheim-123")
    with pytest.raises(Invalid) as bad_role:
        services.create_user("bob", "Bob", roles="staff,king", password="geheim-123")
    assert "roles" in bad_role.value.fields
    with pytest.raises(Invalid):
        services.create_user("bob smith", "Bob", password="geheim-123")
    with pytest.raises(Invalid):
        services.create_user("bob", "Bob", password="short")
    services.set_password("anna.admin", "neues-passwort")
    assert services.authenticate("anna.admin", "neues-passwort") is not None
    assert services.authenticate("anna.admin", "geheim-123") is None
    assert [u.username for u in services.list_users()] == ["anna.admin"]


def test_api_token_is_returned_once_and_stored_hashed(app):
    make_user("fachverfahren")
    token = api_tokens.create_api_token("fachverfahren", "Fachverfahren X")
    row = db.session.scalar(db.select(ApiToken))
    assert token not in row.token_hash
    assert len(row.token_hash) == 64
    assert api_tokens.user_for_token(token).username == "fachverfahren"
    api_tokens.revoke_api_token(row.id)
    assert api_tokens.user_for_token(token) is None
    assert api_tokens.user_for_token("cpt_wrong") is None


def test_roles_required_redirects_html_to_login(app, client):
    response = client.get("/mitarbeitende/heute")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/anmelden?next=")


@pytest.fixture
def api_app(fresh_database_url, tmp_path):
    app = build_app(fresh_database_url, tmp_path, WTF_CSRF_ENABLED=True)

    @app.route("/api/test/me", methods=["GET", "POST"])
    @csrf.exempt
    @api_login_required()
    def me():
        return jsonify(username=current_user.username)

    @app.get("/api/test/polls")
    @api_login_required("poll_admin")
    def polls_only():
        return jsonify(ok=True)

    @app.get("/staff-only")
    @roles_required("staff")
    def staff_only():
        return "ok"

    with app.app_context():
        make_user("staffer", roles="staff")
        make_user("boss", roles="admin")
        tokens = {"staffer": api_tokens.create_api_token("staffer", "t1"),
                  "boss": api_tokens.create_api_token("boss", "t2")}
        db.session.commit()
    app.test_tokens = tokens
    yield app
    with app.app_context():
        db.engine.dispose()


def test_api_without_credentials_is_json_401(api_app):
    response = api_app.test_client().get("/api/test/me")
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = api_app.test_client().get("/api/test/me", headers={"Authorization": "Bearer cpt_nope"})
    assert bad.status_code == 401


def test_html_without_session_redirects_to_login(api_app):
    response = api_app.test_client().get("/staff-only?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden?next=/staff-only?x%3D1"


def test_api_bearer_token_and_roles(api_app):
    client = api_app.test_client()
    staffer = {"Authorization": f"Bearer {api_app.test_tokens['staffer']}"}
    boss = {"Authorization": f"Bearer {api_app.test_tokens['boss']}"}
    assert client.get("/api/test/me", headers=staffer).json == {"username": "staffer"}
    assert client.post("/api/test/me", headers=staffer).json == {"username": "staffer"}  # no CSRF for tokens
    forbidden = client.get("/api/test/polls", headers=staffer)
    assert forbidden.status_code == 403
    assert forbidden.json["error"] == "forbidden"
    assert client.get("/api/test/polls", headers=boss).status_code == 200  # admin implies every role
    assert "session=" not in client.get("/api/test/me", headers=staffer).headers.get("Set-Cookie", "")


def test_api_session_auth_needs_csrf_for_writes(api_app):
    client = api_app.test_client()
    login(client, "staffer")
    assert client.get("/api/test/me").json == {"username": "staffer"}
    assert client.post("/api/test/me").status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    assert client.post("/api/test/me", headers={"X-CSRFToken": token}).json == {"username": "staffer"}


def test_users_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "mmueller", "--name", "Maria Müller", "--email",
                                 "m@example.org", "--roles", "staff,poll_admin", "--password-stdin"],
                           input="geheim-123\n")
    assert result.exit_code == 0, result.output
    assert "created mmueller (staff,poll_admin)" in result.output
    assert services.authenticate("mmueller", "geheim-123") is not None

    result = runner.invoke(args=["users", "create", "x", "--roles", "king", "--password-stdin"],
                           input="geheim-123\n")
    assert result.exit_code != 0
    assert "king" in result.output

    result = runner.invoke(args=["users", "set-password", "mmueller"], input="neu-geheim-1\nneu-geheim-1\n")
    assert result.exit_code == 0, result.output
    assert services.authenticate("mmueller", "neu-geheim-1") is not None

    listed = runner.invoke(args=["users", "list"])
    assert listed.output.startswith("mmueller\tstaff,poll_admin\tactive\t")

    created = runner.invoke(args=["users", "token", "create", "mmueller", "Fachverfahren"])
    token = created.output.strip()
    assert token.startswith("cpt_")
    assert api_tokens.user_for_token(token).username == "mmueller"
    tokens = runner.invoke(args=["users", "token", "list", "mmueller"])
    assert "Fachverfahren" in tokens.output
    assert token not in tokens.output


def test_each_request_loads_its_own_user_and_locale(app, client):
    """The ``app`` fixture keeps one app context for the whole test: nothing may leak via ``g``."""
    from flask import Flask

    make_user("mmueller", display_name="Maria")
    login(client, "mmueller")
    assert "Abmelden (Maria)" in client.get("/").get_data(as_text=True)
    anonymous = Flask.test_client(app)
    assert "Abmelden (Maria)" not in anonymous.get("/").get_data(as_text=True)
    assert '<html lang="en">' in anonymous.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in anonymous.get("/").get_data(as_text=True)
