"""Graph errors: every failure under ``/graph/`` as ``{"error": {"code", "message", "innerError"}}``
(codes in ``GRAPH_CODES``), ``PreconditionFailed`` (412), and a 429's integer ``Retry-After``."""

from __future__ import annotations

import math
import time as time_module
from datetime import UTC, datetime
from typing import Any

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from citizen_portal.core.errors import DomainError
from citizen_portal.core.extensions import limiter
from citizen_portal.core.graph.protocol import request_id
from citizen_portal.core.i18n import _l


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    default_message = _l("Der Änderungsschlüssel (If-Match) passt nicht mehr zum aktuellen Stand des Eintrags.")


GRAPH_CODES = {400: "ErrorInvalidRequest", 401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied",
               404: "ErrorItemNotFound", 405: "ErrorInvalidRequest", 409: "ErrorConflict",
               412: "ErrorIrresolvableConflict", 413: "ErrorRequestTooLarge", 415: "ErrorInvalidRequest",
               429: "TooManyRequests", 500: "generalException", 503: "serviceNotAvailable"}


def error_response(status: int, message: Any, *, inner: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None, code: str | None = None):
    """The Graph error envelope with ``status`` (``code``, else the one of ``GRAPH_CODES``)."""
    inner_error = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id(),
                   "client-request-id": request.headers.get("client-request-id", request_id())}
    inner_error.update(inner or {})
    body = {"error": {"code": code or GRAPH_CODES.get(status, "generalException"), "message": str(message),
                      "innerError": inner_error}}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def render_domain_error(error: DomainError):
    """A platform error as a Graph error: the platform's own code and field messages go to ``innerError``;
    an error class with a ``graph_code`` names Graph's code itself (e.g. ``ValidationError``)."""
    inner: dict[str, Any] = {"code": error.code}
    if error.fields:
        inner["fields"] = {key: str(value) for key, value in error.fields.items()}
    inner.update({key: value for key, value in error.extra.items() if key not in ("date", "request-id")})
    headers = dict(error.headers)
    if error.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="graph"'}
    return error_response(error.status, error.message, inner=inner, headers=headers,
                          code=getattr(error, "graph_code", None))


def render_http_error(exc: HTTPException, message: Any):
    status = exc.code or 500
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = str(_retry_after_seconds(exc))
        message = _l("Zu viele Anfragen. Bitte versuchen Sie es nach der in Retry-After genannten Zahl von "
                     "Sekunden erneut.")
    return error_response(status, message, inner={"code": str(status), "status": str(status)}, headers=headers)


def _retry_after_seconds(exc: HTTPException) -> int:
    """An integer number of seconds (kiota ignores fractions): until the limiter's window resets, at least 1."""
    current = limiter.current_limit
    if current is not None:
        return max(1, math.ceil(current.reset_at - time_module.time()))
    return 1
