"""How flask-login finds the current user: the session cookie (staff in the browser)."""

from __future__ import annotations

from citizen_portal.extensions import db, login_manager
from citizen_portal.models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None
