"""Staff login and logout.

Rules: a generic error message (never says whether the username exists); the login POST is rate
limited per client (``LOGIN_RATE_LIMIT``); the session is cleared and started afresh on login and
logout; the ``next`` target must be a path on this site; logout is a POST (CSRF-protected)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from citizen_portal.auth import services
from citizen_portal.core.access import start_session
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _

bp = Blueprint("auth", __name__)


@bp.before_app_request
def _load_user_per_request() -> None:
    # flask-login caches the user in ``g``, which lives as long as the app context; when a context
    # spans several requests (the test fixtures) each request must load its own user.
    g.pop("_login_user", None)


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the start page."""
    default = url_for("pages.index")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(char) < 32 for char in target):
        return default
    return target


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url)
        return render_template("citizen_portal/auth/login.html", next_url=next_url, username="", failed=False)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    user = services.authenticate(username, password)
    if user is None:
        return render_template("citizen_portal/auth/login.html", next_url=next_url, username=username,
                               failed=True), 400
    start_session(user)
    flash(_("Sie sind angemeldet."), "success")
    return redirect(next_url, code=303)


@bp.post("/abmelden")
def logout() -> Response:
    if current_user.is_authenticated:
        user_id = current_user.id
        logout_user()
        services.end_all_sessions(user_id)
    session.clear()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("pages.index"), code=303)
