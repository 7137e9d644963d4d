"""Authentication for JSON endpoints that staff software calls: a staff session (browser) or an
``Authorization: Bearer <token>`` API token (other software), see ``auth.services.create_api_token``.

Usage in an API blueprint (exempt it from the global CSRF check; this decorator enforces CSRF
itself for session-authenticated writes, so a browser session can't be ridden cross-site)::

    from citizen_portal.auth.api_auth import api_login_required
    from citizen_portal.extensions import csrf

    bp = Blueprint("spaces_api", __name__, url_prefix="/api/v1/spaces")
    csrf.exempt(bp)

    @bp.post("/desk-bookings")
    @api_login_required("staff")
    def book(): ...

Rules: no credentials → JSON 401 (``WWW-Authenticate: Bearer``); an invalid, revoked or inactive
user's token → 401; authenticated without one of ``roles`` → JSON 403 (``admin`` passes every
role check); with no ``roles`` any authenticated staff account passes. A session-authenticated
POST/PUT/PATCH/DELETE needs the CSRF token (form field ``csrf_token`` or header ``X-CSRFToken``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_login import current_user

from citizen_portal.access import has_role
from citizen_portal.errors import DomainError, Forbidden
from citizen_portal.extensions import csrf, login_manager
from citizen_portal.i18n import _l

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = _l("Bitte melden Sie sich an.")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _user_from_token(token: str) -> Any:
    from citizen_portal.auth.services import user_for_token

    return user_for_token(token)


def api_login_required(*roles: str) -> Callable[[F], F]:
    """Require a staff session or a valid bearer API token (and one of ``roles``, if given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            if token is not None:
                user = _user_from_token(token)
                if user is None:
                    return login_manager.unauthorized()
                g._login_user = user  # flask-login's current_user for this request only, no cookie
                g.api_token_auth = True
            elif current_user.is_authenticated:
                if request.method not in SAFE_METHODS:
                    csrf.protect()
            else:
                return login_manager.unauthorized()
            if roles and not any(has_role(current_user, role) for role in roles):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
