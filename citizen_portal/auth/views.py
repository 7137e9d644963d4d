"""Staff login and logout. Skeleton stub; the foundation issue completes it."""

from flask import Blueprint

from citizen_portal.auth import loaders  # noqa: F401  (registers the user loader)

bp = Blueprint("auth", __name__)


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> str:
    return "login"


@bp.post("/abmelden")
def logout() -> str:
    return "logout"
