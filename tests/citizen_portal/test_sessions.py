"""Sessions that end (issue 18, finding 6): a session cookie copied before logout no longer works;
a new password ends every session; an idle staff session ends after STAFF_IDLE_MINUTES."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from citizen_portal.auth import services
from citizen_portal.core import access
from citizen_portal.core.extensions import db
from tests.factories import build_app, login, make_user

STAFF_PAGE = "/arbeitsplaetze/"


def _app_with_staffer(fresh_database_url, tmp_path, **config):
    app = build_app(fresh_database_url, tmp_path, WTF_CSRF_ENABLED=True, **config)
    with app.app_context():
        make_user("staffer", roles="staff", password="secret-pw-1")
        db.engine.dispose()
    return app


def _copy_session(source, target) -> None:
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def _logout(client) -> None:
    page = client.get(STAFF_PAGE).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/abmelden", data={"csrf_token": token}).status_code == 303


def test_a_cookie_copied_before_logout_is_dead_after_it(fresh_database_url, tmp_path):
    app = _app_with_staffer(fresh_database_url, tmp_path)
    victim, thief = app.test_client(), app.test_client()
    login(victim, "staffer", "secret-pw-1")
    _copy_session(victim, thief)
    assert thief.get(STAFF_PAGE).status_code == 200  # the copy works while the session lives
    _logout(victim)
    assert thief.get(STAFF_PAGE).status_code == 302
    assert thief.get("/api/v1/desks").status_code == 401


def test_a_new_password_ends_every_session(fresh_database_url, tmp_path):
    app = _app_with_staffer(fresh_database_url, tmp_path)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "staffer", "secret-pw-1")
    login(phone, "staffer", "secret-pw-1")
    with app.app_context():
        services.set_password("staffer", "secret-pw-2")
        db.session.remove()
    assert laptop.get(STAFF_PAGE).status_code == 302 and phone.get(STAFF_PAGE).status_code == 302
    login(phone, "staffer", "secret-pw-2")
    assert phone.get(STAFF_PAGE).status_code == 200


def test_an_idle_staff_session_ends(fresh_database_url, tmp_path, monkeypatch):
    app = _app_with_staffer(fresh_database_url, tmp_path, STAFF_IDLE_MINUTES=30)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    clock = {"now": start}
    monkeypatch.setattr(access, "utc_now", lambda: clock["now"])
    client = app.test_client()
    login(client, "staffer", "secret-pw-1")
    clock["now"] = start + timedelta(minutes=29)
    assert client.get(STAFF_PAGE).status_code == 200  # a use renews the session
    clock["now"] = start + timedelta(minutes=58)
    assert client.get(STAFF_PAGE).status_code == 200
    clock["now"] = start + timedelta(minutes=89)
    assert client.get(STAFF_PAGE).status_code == 302
