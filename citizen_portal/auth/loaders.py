"""How flask-login finds the current user (the session cookie of staff in the browser) and what
happens without one: JSON 401 under ``/api/``, otherwise a redirect to the login page."""

from __future__ import annotations

from flask import jsonify, redirect, request, url_for
from flask_babel import gettext as _

from citizen_portal.access import set_token_resolver
from citizen_portal.errors import wants_json
from citizen_portal.extensions import db, login_manager
from citizen_portal.models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():
        response = jsonify({"error": "unauthorized", "message": _("Bitte melden Sie sich an."), "fields": {}})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def _token_owner(token: str) -> User | None:
    from citizen_portal.auth.services import user_for_token

    return user_for_token(token)


# staff JSON endpoints (citizen_portal.access.api_login_required) resolve bearer tokens here
set_token_resolver(_token_owner)
