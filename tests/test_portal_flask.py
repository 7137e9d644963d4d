"""The platform's Flask class keeps what Flask rebuilt on every request: the session serializer (per
secret key set: a new key is a new serializer, so a rotated key still ends old cookies) and the sync
wrapper of each hook."""

from __future__ import annotations

from flask import session

from citizen_portal.core.portal_flask import PortalFlask


def _app(secret: str) -> PortalFlask:
    app = PortalFlask("portal_flask_test")
    app.secret_key = secret

    @app.get("/set")
    def set_value() -> str:
        session["value"] = "kept"
        return "set"

    @app.get("/get")
    def get_value() -> str:
        return session.get("value", "none")

    return app


def test_one_serializer_per_key_set_and_a_new_key_ends_old_cookies():
    app = _app("first-secret")
    interface = app.session_interface
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").get_data(as_text=True) == "kept"
    first = interface.get_signing_serializer(app)

    app.secret_key = "second-secret"
    assert interface.get_signing_serializer(app) is not first
    assert client.get("/get").get_data(as_text=True) == "none"  # signed with the old key: refused

    app.config["SECRET_KEY_FALLBACKS"] = ["first-secret"]
    old_client = app.test_client()
    app.secret_key = "first-secret"
    app.config["SECRET_KEY_FALLBACKS"] = []
    old_client.get("/set")
    app.secret_key = "second-secret"
    app.config["SECRET_KEY_FALLBACKS"] = ["first-secret"]
    assert old_client.get("/get").get_data(as_text=True) == "kept"  # the old key as a fallback


def test_hooks_are_wrapped_once():
    app = _app("secret")
    calls = []
    app.before_request(lambda: calls.append("before"))
    original = app.before_request_funcs[None][0]
    assert app.ensure_sync(original) is app.ensure_sync(original)
    app.test_client().get("/get")
    app.test_client().get("/get")
    assert calls == ["before", "before"]
