"""Who may do what: roles and the decorators that guard staff pages and API endpoints.

Roles: ``staff`` (desks, rooms, today's appointments), ``service_admin`` (appointment rules),
``poll_admin`` (polls and suggestions), ``admin`` (everything). ``admin`` implies every role.
Part of the core, so every package may use it. ``init_app`` tells flask-login how to find the
current user (the session cookie of staff in the browser, or a bearer API token on JSON endpoints)
and what happens without one: JSON 401 under ``/api/``, otherwise a redirect to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from citizen_portal.core.api_tokens import user_for_token
from citizen_portal.core.errors import DomainError, Forbidden, wants_json
from citizen_portal.core.extensions import csrf, db, login_manager
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import User

ROLES = ("staff", "service_admin", "poll_admin", "admin")

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
    """Register how flask-login loads the session's user and answers anonymous requests."""
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)


def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def _unauthorized():
    if wants_json():
        response = jsonify(Unauthorized(_l("Bitte melden Sie sich an.")).to_json())
        response.status_code = 401
        response.headers.update(Unauthorized.headers)
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_api_request(*roles: str) -> None:
    """Rules for staff JSON endpoints: a bearer API token (other software) or a staff session
    (browser; then unsafe methods must carry the CSRF token, header ``X-CSRFToken``).
    No or bad credentials → 401; authenticated without one of ``roles`` → 403."""
    token = bearer_token()
    if token is not None:
        user = user_for_token(token)
        if user is None:
            raise Unauthorized(_l("Das API-Token ist ungültig oder widerrufen."))
        g._login_user = user  # flask-login's current_user, for this request only (no cookie)
    elif not current_user.is_authenticated:
        raise Unauthorized()
    elif request.method not in SAFE_METHODS and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    if roles and not any(has_role(current_user, role) for role in roles):
        raise Forbidden()


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
