"""Who may do what: roles and the decorators that guard staff pages and API endpoints.

Roles: ``staff`` (desks, rooms, today's appointments), ``service_admin`` (appointment rules),
``poll_admin`` (polls and suggestions), ``room_admin`` (citizens' room requests), ``admin`` (everything).
``admin`` implies every role.
Part of the core, so every package may use it. ``init_app`` tells flask-login how to find the
current user (the session cookie of staff in the browser, or a bearer API token on JSON endpoints)
and what happens without one: JSON 401 under ``/api/``, otherwise a redirect to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from citizen_portal.core.api_clients import ACCESS_TOKEN_PREFIX, Principal, principal_for_token, user_principal
from citizen_portal.core.errors import DomainError, Forbidden, render_error, wants_json
from citizen_portal.core.extensions import csrf, db, login_manager
from citizen_portal.core.i18n import _l, utc_now
from citizen_portal.core.models import User

ROLES = ("staff", "service_admin", "poll_admin", "room_admin", "admin")

F = TypeVar("F", bound=Callable[..., Any])


def has_role(user: Any, role: str) -> bool:
    roles = set(getattr(user, "role_list", ()) or ())
    return "admin" in roles or role in roles


def roles_required(*roles: str) -> Callable[[F], F]:
    """Require a logged-in user holding at least one of ``roles`` (``admin`` always passes)."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(has_role(current_user, role) for role in roles):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# --------------------------------------------------------------------------- JSON API access

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    default_message = _l("Bitte melden Sie sich an oder senden Sie ein API-Token.")


def init_app(app: Flask) -> None:
    """Register how flask-login loads the session's user, answers anonymous requests, and ends idle
    staff sessions."""
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(end_idle_session)


def load_user(session_user_id: str) -> User | None:
    """The active user of a session, if the session's generation is still the user's (logout and a new
    password raise the generation: every session issued before is dead, copied cookies included)."""
    user_id, _, generation = session_user_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or int(generation) != (user.session_generation or 0):
        return None
    return user


def end_idle_session() -> None:
    """A staff session unused for ``STAFF_IDLE_MINUTES`` ends (the last use is kept in the signed
    session, so a replayed old cookie is idle too); any use renews it, at most once a minute."""
    if "_user_id" not in session:
        return
    now = int(utc_now().timestamp())
    last_seen = session.get("last_seen")
    if not isinstance(last_seen, int) or now - last_seen > int(current_app.config["STAFF_IDLE_MINUTES"]) * 60:
        logout_user()
        session.clear()
        return
    if now - last_seen >= 60:
        session["last_seen"] = now


def start_session(user: User) -> None:
    """Log ``user`` in on a fresh session (after a successful login)."""
    session.clear()
    login_user(user)
    session["last_seen"] = int(utc_now().timestamp())


def _unauthorized():
    if wants_json():
        return render_error(Unauthorized(_l("Bitte melden Sie sich an.")))
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_api_request(*roles: str) -> None:
    """Rules for staff JSON endpoints: a bearer token (a person's API token, or an API client's access
    token) or a staff session (browser; then unsafe methods must carry the CSRF token, header
    ``X-CSRFToken``). No or bad credentials → 401; authenticated without one of ``roles`` → 403
    (an API client is not a person and holds no role: endpoints acting as a person refuse it)."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized()
    if principal.kind == "client":
        if roles:
            raise Forbidden(_l("Diese Aktion handelt im Namen einer Person; ein API-Client kann sie nicht ausführen."))
        return
    if bearer_token() is None and request.method not in SAFE_METHODS and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    if roles and not any(has_role(current_user, role) for role in roles):
        raise Forbidden()


PRINCIPAL_KEY = "citizen_portal.api_principal"


def current_principal() -> Principal | None:
    """Who calls this request (resolved once): the bearer token's person or client, else the staff
    session's person, else ``None``. A bearer token that is unknown, expired or revoked → 401.
    A person's token also logs the person in for this request only (flask-login's ``current_user``,
    no cookie)."""
    if PRINCIPAL_KEY in request.environ:  # per request (``g`` may outlive a request in tests)
        return request.environ[PRINCIPAL_KEY]
    token = bearer_token()
    principal: Principal | None
    if token is not None:
        principal = principal_for_token(token)
        if principal is None:
            raise Unauthorized(_l("Das API-Token ist ungültig, abgelaufen oder widerrufen."))
        if principal.kind == "user":
            g._login_user = principal.user
    elif current_user.is_authenticated:
        principal = user_principal(current_user)
    else:
        principal = None
    request.environ[PRINCIPAL_KEY] = principal
    return principal


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    default_message = _l("Dem Token fehlt die nötige Berechtigung (Scope).")


def require_scope(scope: str | None) -> Principal | None:
    """An operation's scope check: ``None`` (a public operation) lets everyone pass; otherwise the
    caller must be authenticated (401) and hold ``scope`` (403 ``insufficient_scope``, RFC 6750 §3.1)."""
    if scope is None:  # public: a bearer value here may be something else (a citizen's manage token)
        return None
    principal = current_principal()
    if principal is None:
        raise Unauthorized()
    if not principal.has(scope):
        error = InsufficientScope(extra={"required_scope": scope})
        error.headers = {"WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'}
        raise error
    return principal


def api_login_required(*roles: str) -> Callable[[F], F]:
    """Decorator form of ``authenticate_api_request`` for single endpoints. API blueprints are
    exempt from the global CSRF check (``csrf.exempt(bp)``); this enforces it for sessions."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            authenticate_api_request(*roles)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def client_sees_location(location_id: int | None) -> bool:
    """Whether the caller may see a location: ``False`` only for an API client's access token restricted
    to other locations (anonymous callers, persons and unrestricted clients see every location)."""
    token = bearer_token()
    if token is None or not token.startswith(ACCESS_TOKEN_PREFIX):
        return True
    principal = current_principal()
    return principal is None or principal.sees_location(location_id)


def client_location_restricted() -> bool:
    """The caller is an API client restricted to some locations."""
    token = bearer_token()
    if token is None or not token.startswith(ACCESS_TOKEN_PREFIX):
        return False
    principal = current_principal()
    return principal is not None and principal.location_ids is not None
