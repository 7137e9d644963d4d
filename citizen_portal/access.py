"""Who may do what: roles and the decorators that guard staff pages and API endpoints.

Roles: ``staff`` (desks, rooms, today's appointments), ``service_admin`` (appointment rules),
``poll_admin`` (polls and suggestions), ``admin`` (everything). ``admin`` implies every role.
Base module: it knows roles, not users, so every package may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_login import current_user, login_required

from citizen_portal.errors import Forbidden

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
