"""Who may do what: roles and the decorators that guard staff pages and API endpoints.

Roles: ``staff`` (desks, rooms, today's appointments), ``service_admin`` (appointment rules),
``poll_admin`` (polls and suggestions), ``admin`` (everything). ``admin`` implies every role.
Base module: it knows roles, not users, so every package may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_login import current_user, login_required

from citizen_portal.errors import DomainError, Forbidden
from citizen_portal.extensions import csrf
from citizen_portal.i18n import _l

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
_token_resolver: Callable[[str], Any] | None = None


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    default_message = _l("Bitte melden Sie sich an oder senden Sie ein API-Token.")


def set_token_resolver(resolver: Callable[[str], Any]) -> None:
    """Called by the auth package: ``resolver(token)`` returns the active user owning an
    unrevoked API token, else None. Keeps this base module free of the user model."""
    global _token_resolver
    _token_resolver = resolver


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
        user = _token_resolver(token) if _token_resolver else None
        if user is None:
            raise Unauthorized(_l("Das API-Token ist ungültig oder widerrufen."))
        g._login_user = user  # flask-login's current_user, for this request only (no cookie)
    elif not current_user.is_authenticated:
        raise Unauthorized()
    elif request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
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
