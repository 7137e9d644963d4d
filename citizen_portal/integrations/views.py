"""``POST /oauth/token``: the OAuth 2.0 token endpoint (client credentials grant, RFC 6749 §4.4).

Form-encoded ``grant_type=client_credentials``, the client's id and secret in the form or as HTTP Basic
(§2.3.1), an optional ``scope`` (a subset of the client's). Answers ``{"access_token", "token_type":
"Bearer", "expires_in", "scope"}`` or an RFC 6749 §5.2 error (``invalid_client`` 401 with
``WWW-Authenticate``, ``invalid_scope`` / ``unsupported_grant_type`` / ``invalid_request`` 400), never
cached. Rate-limited per client address (``OAUTH_TOKEN_RATE_LIMIT``); exempt from CSRF (no cookies)."""

from __future__ import annotations

from urllib.parse import unquote

from flask import Blueprint, current_app, jsonify, request

from citizen_portal.core.api_clients import OAuthError, issue_token
from citizen_portal.core.extensions import csrf, limiter
from citizen_portal.core.scopes import parse_scope_string

bp = Blueprint("oauth", __name__)
csrf.exempt(bp)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_limit() -> str:
    return current_app.config["OAUTH_TOKEN_RATE_LIMIT"]


def _credentials() -> tuple[str | None, str | None, bool]:
    """Client id and secret from HTTP Basic (form-urlencoded parts, §2.3.1) or the form; and whether
    Basic was used. Both at once is an invalid request (§2.3)."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        if request.form.get("client_secret"):
            raise OAuthError()
        return unquote(auth.username or ""), unquote(auth.password or ""), True
    return request.form.get("client_id"), request.form.get("client_secret"), False


@bp.post("/oauth/token")
@limiter.limit(_token_limit, scope="oauth-token")
def token():
    basic = False
    try:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise OAuthError()
        client_id, client_secret, basic = _credentials()
        issued = issue_token(request.form.get("grant_type"), client_id, client_secret,
                             parse_scope_string(request.form.get("scope")))
    except OAuthError as error:
        headers = dict(NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="oauth"' if basic else 'Bearer realm="oauth"'
        return jsonify(error.to_json()), error.status, headers
    return jsonify(issued.to_json()), 200, NO_STORE


@bp.errorhandler(429)
def _too_many(error):
    """RFC 6749 has no code for this; the body has its shape, with the integer ``Retry-After``."""
    headers = dict(NO_STORE)
    retry = getattr(error, "retry_after", None) or 60
    headers["Retry-After"] = str(int(retry))
    return jsonify({"error": "rate_limited", "error_description": "too many token requests"}), 429, headers
