"""/healthz: database plus every registered check; 200 when all ok, else 503."""

from __future__ import annotations


def test_healthz_ok_with_database(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "health_checks", {"caldav": lambda: {"ok": True, "servers": 1}})
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"]["ok"] is True
    assert response.json["checks"] == {"caldav": {"ok": True, "servers": 1}}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_degraded_when_a_check_fails_or_raises(app, client, monkeypatch):
    def broken():
        raise ConnectionError("caldav.example unreachable")

    monkeypatch.setitem(app.extensions, "health_checks", {
        "outbox": lambda: {"ok": False, "pending": 12},
        "worker": broken,
        "mirror": lambda: {"ok": True},
    })
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["checks"]["outbox"] == {"ok": False, "pending": 12}
    assert response.json["checks"]["worker"] == {"ok": False, "error": "ConnectionError"}
    assert "unreachable" not in response.get_data(as_text=True)


def test_healthz_degraded_without_database(fresh_database_url, tmp_path):
    from citizen_portal.core.extensions import db
    from tests.factories import build_app

    app = build_app("sqlite:////nonexistent-dir/none.sqlite3", tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"]["ok"] is False
    with app.app_context():
        db.engine.dispose()


# issue 18.12: the public answer is the status alone; details for admins, a monitoring token, loopback

PUBLIC = {"REMOTE_ADDR": "203.0.113.9"}


def _with_checks(app, monkeypatch, ok: bool = True):
    monkeypatch.setitem(app.extensions, "health_checks", {"mail": lambda: {"ok": ok, "waiting": 7}})


def test_healthz_from_outside_shows_only_the_status(app, client, monkeypatch):
    _with_checks(app, monkeypatch)
    response = client.get("/healthz", environ_base=PUBLIC)
    assert response.status_code == 200 and response.json == {"status": "ok"}
    _with_checks(app, monkeypatch, ok=False)
    degraded = client.get("/healthz", environ_base=PUBLIC)
    assert degraded.status_code == 503 and degraded.json == {"status": "degraded"}


def test_healthz_through_a_local_reverse_proxy_shows_only_the_status(app, client, monkeypatch):
    _with_checks(app, monkeypatch)
    for header in ({"X-Forwarded-For": "198.51.100.7"}, {"Forwarded": "for=198.51.100.7"}):
        assert client.get("/healthz", headers=header).json == {"status": "ok"}
    assert "checks" in client.get("/healthz").json  # loopback, no proxy: the machine itself


def test_healthz_details_with_the_monitoring_token(app, client, monkeypatch):
    _with_checks(app, monkeypatch)
    monkeypatch.setitem(app.config, "HEALTH_TOKEN", "monitor-secret-123")
    right = client.get("/healthz", environ_base=PUBLIC, headers={"Authorization": "Bearer monitor-secret-123"})
    assert right.json["checks"] == {"mail": {"ok": True, "waiting": 7}}
    assert right.json["database"]["ok"] is True
    wrong = client.get("/healthz", environ_base=PUBLIC, headers={"Authorization": "Bearer monitor-secret-124"})
    assert wrong.json == {"status": "ok"}
    monkeypatch.setitem(app.config, "HEALTH_TOKEN", "")
    empty = client.get("/healthz", environ_base=PUBLIC, headers={"Authorization": "Bearer "})
    assert empty.json == {"status": "ok"}


def test_healthz_details_for_a_logged_in_admin_only(app, client, monkeypatch):
    from tests.factories import log_in_session, make_user

    _with_checks(app, monkeypatch)
    staff = make_user(roles="staff")
    with client.session_transaction() as session:
        log_in_session(session, staff)
    assert client.get("/healthz", environ_base=PUBLIC).json == {"status": "ok"}
    admin = make_user(roles="admin")
    with client.session_transaction() as session:
        log_in_session(session, admin)
    assert client.get("/healthz", environ_base=PUBLIC).json["checks"]["mail"]["waiting"] == 7
