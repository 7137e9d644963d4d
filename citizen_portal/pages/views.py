"""Start page, language switch, legal pages and the health check.

Rules:
- The site name and the legal page texts come from ``SiteSettings`` (written by ``flask site load``),
  cached per process for ``SITE_CACHE_SECONDS``; without a row (or without a database) the
  configured ``SITE_NAME`` and the default texts of the templates are shown.
- A legal text from the site file is ``settings["legal"][page][lang]`` (plain text; blank lines
  separate paragraphs); missing languages fall back to German, then to the template's default.
- ``/healthz`` answers 200 when the database and every registered check are ok, else 503. Anyone
  sees only ``{"status": "ok"|"degraded"}``; the details (database, every check's figures) only a
  logged-in admin, a monitor that sends ``Authorization: Bearer <PORTAL_HEALTH_TOKEN>``, or a request
  from the machine itself (loopback without ``X-Forwarded-For``/``Forwarded``, which a reverse proxy
  on the same machine adds): the public answer tells no one about backlogs, warnings or versions.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from citizen_portal.core.access import has_role
from citizen_portal.core.errors import NotFound
from citizen_portal.core.extensions import db, limiter
from citizen_portal.core.health import registered_health_checks
from citizen_portal.core.i18n import LANGUAGE_COOKIE, _l, current_language, supported_locales
from citizen_portal.core.models import SiteSettings
from citizen_portal.core.navigation import main_navigation

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

LEGAL_PAGES = {
    "impressum": _l("Impressum"),
    "datenschutz": _l("Datenschutzerklärung"),
    "barrierefreiheit": _l("Erklärung zur Barrierefreiheit"),
}

_cache_lock = threading.Lock()


def _load_site(app: Flask) -> dict[str, Any]:
    try:
        row = db.session.scalar(select(SiteSettings).order_by(SiteSettings.id).limit(1))
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("site settings unavailable; using defaults")
        return {"name": None, "settings": {}, "fallback": True}
    if row is None:
        return {"name": None, "settings": {}}
    return {"name": row.name, "settings": dict(row.settings or {})}


def site_info() -> dict[str, Any]:
    """The site's name and settings, cached briefly per app (no database work in create_app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # tests share one app across rolled-back transactions: no cache there
    ttl = 0.0 if app.testing else float(app.config["SITE_CACHE_SECONDS"])
    now = time.monotonic()
    with _cache_lock:
        cached = app.extensions.get("site_info_cache")
        if cached and now - cached[0] < ttl:
            return cached[1]
    info = _load_site(app)
    with _cache_lock:
        # without a database, try again after a few seconds (and log once, not per call)
        app.extensions["site_info_cache"] = (now - (max(ttl - 5, 0) if info.get("fallback") else 0), info)
    return info


def clear_site_cache(app: Flask) -> None:
    app.extensions.pop("site_info_cache", None)


def site_name() -> str:
    return site_info()["name"] or current_app.config["SITE_NAME"]


def legal_text(page: str) -> list[str] | None:
    """The city's paragraphs for a legal page in the current language, or ``None`` (use default)."""
    texts = (site_info()["settings"].get("legal") or {}).get(page) or {}
    value = texts if isinstance(texts, str) else (texts.get(current_language()) or texts.get("de"))
    if not value:
        return None
    return [part.strip() for part in str(value).replace("\r\n", "\n").split("\n\n") if part.strip()]


def site_contact() -> dict[str, str]:
    """How citizens reach the office (``[site] contact``: phone, email); every error page shows it.
    Without a loaded site file both are empty and the pages name no contact."""
    contact = site_info()["settings"].get("contact") or {}
    return {"phone": contact.get("phone") or "", "email": contact.get("email") or ""}


def legal_facts(name: str) -> dict[str, Any]:
    """The required facts of a legal page (``[site] legal.accessibility`` / ``legal.privacy``), or ``{}``;
    the statement's date as a ``date``."""
    facts = dict((site_info()["settings"].get("legal") or {}).get(name) or {})
    if facts.get("prepared_on"):
        facts["prepared_on"] = date.fromisoformat(facts["prepared_on"])
    return facts


@bp.app_context_processor
def _layout_helpers() -> dict:
    return {"site_name": site_name, "main_navigation": main_navigation, "legal_pages": LEGAL_PAGES,
            "site_contact": site_contact}


@bp.get("/")
def index() -> str:
    return render_template("citizen_portal/pages/index.html")


def _same_site_path(target: str | None, default: str) -> str:
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


@bp.post("/sprache")
def set_language() -> Response:
    language = request.form.get("lang", "")
    target = _same_site_path(request.form.get("next"), url_for("pages.index"))
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
    return render_template(f"citizen_portal/pages/{page}.html", page=page, title=LEGAL_PAGES[page],
                           paragraphs=legal_text(page), accessibility=legal_facts("accessibility"),
                           privacy=legal_facts("privacy"))


def _database_check() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "dialect": db.engine.dialect.name,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _may_see_health_details() -> bool:
    """Details of ``/healthz`` for an admin, the configured monitoring token, or a direct local request."""
    if current_user.is_authenticated and has_role(current_user, "admin"):
        return True
    token = str(current_app.config.get("HEALTH_TOKEN") or "")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
        return True
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    try:
        return not proxied and ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    database = _database_check()
    checks: dict[str, Any] = {}
    for name, check in sorted(registered_health_checks(current_app).items()):
        try:
            result = dict(check())
        except Exception as exc:  # a broken check is an unhealthy check, not a 500
            log.warning("health check %s failed: %s", name, type(exc).__name__)
            result = {"ok": False, "error": type(exc).__name__}
        result["ok"] = bool(result.get("ok"))
        checks[name] = result
    healthy = database["ok"] and all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded"}
    if _may_see_health_details():
        body.update(database=database, checks=checks)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503
