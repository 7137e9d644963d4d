"""Staff login and logout: local accounts (``LOCAL_LOGIN``) and the city's OpenID provider (``oidc``).

Rules: a generic error message (never says whether the username exists); the login POST is rate
limited per client (``LOGIN_RATE_LIMIT``); the session is cleared and started afresh on login and
logout; the ``next`` target must be a path on this site; logout is a POST (CSRF-protected) and, after
a single sign-on, continues at the provider's logout (RP-initiated logout)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from citizen_portal.auth import oidc, services
from citizen_portal.core.access import start_session
from citizen_portal.core.extensions import limiter
from citizen_portal.core.i18n import _
from citizen_portal.core.navigation import landing_for

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


def _after_login(user, target: str | None) -> str:
    """Where a login ends: the page asked for (``next``, a path on this site), else the landing page of
    the user's role (``core.navigation.landing_for``: "Heute" for staff, the poll administration for
    poll administrators …), else the start page."""
    if target and safe_next(target) == target:
        return target
    return landing_for(user) or url_for("pages.index")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    asked = request.values.get("next")
    next_url = safe_next(asked) if asked else ""  # empty: the role's landing page after the login
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_after_login(current_user, next_url))
        return _login_page(next_url)
    if not current_app.config["LOCAL_LOGIN"]:
        abort(404)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    user = services.authenticate(username, password)
    if user is None:
        return _login_page(next_url, username=username, failed=True), 400
    start_session(user)
    flash(_("Sie sind angemeldet."), "success")
    return redirect(_after_login(user, next_url), code=303)


def _login_page(next_url: str, *, username: str = "", failed: bool = False, sso_failed: bool = False) -> str:
    return render_template("citizen_portal/auth/login.html", next_url=next_url, username=username, failed=failed,
                           sso_failed=sso_failed, sso=oidc.enabled(), local_login=current_app.config["LOCAL_LOGIN"])


@bp.get("/anmelden/oidc")
@limiter.limit(_login_limit)
def oidc_login() -> Response:
    """Off to the provider (authorisation code + PKCE, state and nonce kept in the session)."""
    if not oidc.enabled():
        abort(404)
    session["oidc_next"] = safe_next(request.args.get("next"))
    session["oidc_next_given"] = bool(request.args.get("next"))
    return oidc.client().authorize_redirect(url_for("auth.oidc_callback", _external=True))


@bp.get("/anmelden/oidc/callback")
@limiter.limit(_login_limit)
def oidc_callback() -> Response | tuple[str, int]:
    """Back from the provider: check state, exchange the code (with the PKCE verifier), check the ID
    token (signature, issuer, audience, nonce), read the userinfo, then log the linked account in."""
    if not oidc.enabled():
        abort(404)
    next_url = safe_next(session.get("oidc_next"))
    try:
        token = oidc.client().authorize_access_token()
        claims = dict(token["userinfo"])  # the ID token's claims, checked
        extra = oidc.client().userinfo(token=token)
    except (AuthlibBaseError, KeyError, ValueError):
        current_app.logger.warning("single sign-on refused: the provider's answer did not check out")
        return _login_page(next_url, sso_failed=True), 400
    if extra.get("sub") == claims.get("sub"):  # userinfo of another subject is ignored
        claims = {**extra, **claims}
    roles = oidc.mapped_roles(claims, current_app.config["OIDC_ROLES_CLAIM"],
                              oidc.role_map(current_app.config["OIDC_ROLE_MAP"]))
    user = oidc.login_from_claims(str(claims["iss"]), claims, roles)
    start_session(user)
    session["oidc_id_token"] = token.get("id_token")
    flash(_("Sie sind angemeldet."), "success")
    return redirect(_after_login(user, session.pop("oidc_next_given", None) and next_url), code=303)


@bp.post("/abmelden")
def logout() -> Response:
    if current_user.is_authenticated:
        user_id = current_user.id
        logout_user()
        services.end_all_sessions(user_id)
    id_token = session.get("oidc_id_token")
    session.clear()
    flash(_("Sie sind abgemeldet."), "info")
    if id_token and oidc.enabled():
        end_session = oidc.client().load_server_metadata().get("end_session_endpoint")
        if end_session:
            query = urlencode({"id_token_hint": id_token, "client_id": current_app.config["OIDC_CLIENT_ID"],
                               "post_logout_redirect_uri": url_for("pages.index", _external=True)})
            return redirect(f"{end_session}?{query}", code=303)
    return redirect(url_for("pages.index"), code=303)
