"""The one error family of the platform.

Services raise these; views render them as HTML error pages (or re-render a form on ``Invalid``),
and everything under ``/api/`` renders them as RFC 9457 problem details (``application/problem+json``:
``type``, ``title``, ``status``, ``detail``, plus the extension members ``error`` (the stable code),
``fields`` (a message per field) and the error's ``extra`` members) with the error's status.
Messages are translated lazily, in the language of the request (``Accept-Language``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every expected failure; ``code`` is stable and machine-readable."""

    status: int = 400
    code: str = "error"
    headers: dict[str, str] = {}
    default_message: Any = _l("Die Anfrage konnte nicht bearbeitet werden.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(str(self.message))

    def to_json(self) -> dict[str, Any]:
        """The legacy JSON shape (``/healthz``): ``{"error", "message", "fields"}``."""
        body: dict[str, Any] = {
            "error": self.code,
            "message": str(self.message),
            "fields": {key: str(value) for key, value in self.fields.items()},
        }
        body.update(self.extra)
        return body

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details with the code and the field messages as extension members."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.code,
            "title": str(PROBLEM_TITLES.get(self.status, PROBLEM_TITLES[400 if self.status < 500 else 500])),
            "status": self.status,
            "detail": str(self.message),
            "error": self.code,
            "fields": {key: str(value) for key, value in self.fields.items()},
        }
        body.update({key: value for key, value in self.extra.items() if key not in body})
        return body


class Invalid(DomainError):
    status = 400
    code = "invalid"
    default_message = _l("Bitte prüfen Sie Ihre Eingaben.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Die Seite oder der Eintrag wurde nicht gefunden.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("Dafür fehlt Ihnen die Berechtigung.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("Das ist inzwischen nicht mehr möglich.")


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    default_message = _l("Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später.")


HTTP_MESSAGES = {
    400: _l("Die Anfrage ist ungültig."),
    401: _l("Bitte melden Sie sich an."),
    403: _l("Dafür fehlt Ihnen die Berechtigung."),
    404: _l("Die Seite oder der Eintrag wurde nicht gefunden."),
    405: _l("Diese Methode ist hier nicht erlaubt."),
    413: _l("Die Anfrage ist zu groß."),
    415: _l("Dieses Format wird nicht unterstützt. Bitte senden Sie JSON."),
    429: _l("Zu viele Anfragen. Bitte warten Sie einen Moment."),
    500: _l("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später."),
    503: _l("Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später."),
}

PROBLEM_TYPE_PREFIX = "urn:citizen-portal:problem:"  # + the error code: a stable, non-resolvable type URI
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TITLES = {
    400: _l("Ungültige Anfrage"),
    401: _l("Anmeldung erforderlich"),
    403: _l("Keine Berechtigung"),
    404: _l("Nicht gefunden"),
    405: _l("Methode nicht erlaubt"),
    409: _l("Konflikt"),
    412: _l("Vorbedingung nicht erfüllt"),
    413: _l("Anfrage zu groß"),
    415: _l("Format nicht unterstützt"),
    422: _l("Nicht verarbeitbar"),
    429: _l("Zu viele Anfragen"),
    500: _l("Interner Fehler"),
    503: _l("Dienst nicht erreichbar"),
}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def wants_problem() -> bool:
    return request.path.startswith("/api/")


def problem_response(error: DomainError):
    """``error`` as an ``application/problem+json`` response with its status and headers."""
    response = current_app.response_class(current_app.json.dumps(error.to_problem()) + "\n", status=error.status,
                                          mimetype=PROBLEM_MEDIA_TYPE)
    response.headers.update(error.headers)
    return response


def _prefix_renderer():
    """The renderers an API with its own error format registered for this request's path (``add_error_renderer``)."""
    for prefix, renderers in current_app.extensions.get("error_renderers", {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return renderers
    return None


def add_error_renderer(app: Flask, prefix: str, domain: Any, http: Any) -> None:
    """Errors under ``prefix`` render with ``domain(error)`` / ``http(exc, message)`` (e.g. Graph's envelope)."""
    app.extensions.setdefault("error_renderers", {})[prefix] = (domain, http)


def render_error(error: DomainError):
    special = _prefix_renderer()
    if special is not None:
        return special[0](error)
    if wants_problem():
        return problem_response(error)
    if wants_json():
        return jsonify(error.to_json()), error.status, error.headers
    return render_template("errors/error.html", error=error, status=error.status), error.status, error.headers


def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = HTTP_MESSAGES.get(status, exc.description)
    if isinstance(exc, CSRFError):
        message = _l("Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und senden Sie es erneut.")
    special = _prefix_renderer()
    if special is not None:
        return special[1](exc, message)
    error = DomainError(message, code="csrf_failed" if isinstance(exc, CSRFError) else HTTP_CODES.get(status, "error"))
    error.status = status
    allowed = getattr(exc, "valid_methods", None)
    if status == 405 and allowed:
        error.headers = {"Allow": ", ".join(allowed)}
    return render_error(error)


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.url_rule or "<no route>")
    error = DomainError(HTTP_MESSAGES[500], code="internal_error")
    error.status = 500
    return render_error(error)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, render_error)
    app.register_error_handler(HTTPException, _http_error)
    if not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, _unexpected)
