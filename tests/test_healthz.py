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
