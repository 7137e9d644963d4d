"""Start page, language switch, legal pages and health check.

Minimal version from the skeleton; the foundation issue completes it."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from citizen_portal.errors import NotFound
from citizen_portal.i18n import LANGUAGE_COOKIE, supported_locales

bp = Blueprint("pages", __name__)

LEGAL_PAGES = ("impressum", "datenschutz", "barrierefreiheit")


@bp.app_context_processor
def _layout_helpers() -> dict:
    return {
        "site_name": lambda: current_app.config.get("SITE_NAME", "Stadt Musterhausen"),
        "main_navigation": lambda: [],
    }


@bp.get("/")
def index() -> str:
    return render_template("citizen_portal/pages/index.html")


@bp.post("/sprache")
def set_language() -> Response:
    language = request.form.get("lang", "")
    target = request.form.get("next") or url_for("pages.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("pages.index")
    response = redirect(target, code=303)
    if language in supported_locales():
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/<any(impressum, datenschutz, barrierefreiheit):page>")
def legal(page: str) -> str:
    if page not in LEGAL_PAGES:
        raise NotFound()
    return render_template(f"citizen_portal/pages/{page}.html")
