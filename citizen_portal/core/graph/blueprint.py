"""The Graph blueprint (``graph_blueprint``: CSRF-exempt, rate-limited per token) and the app-wide
conventions (``init_app``): ``//`` collapsed, JSON content type, ``request-id`` and ``Preference-Applied``
headers, Graph error rendering."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, g, request

from citizen_portal.core.errors import add_error_renderer
from citizen_portal.core.extensions import csrf, limiter
from citizen_portal.core.graph.errors import render_domain_error, render_http_error
from citizen_portal.core.graph.protocol import PREFIX, is_graph_request, request_id
from citizen_portal.core.graph.subscriptions import init_app as init_subscriptions


def graph_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/graph/v1.0`` (exempt from CSRF: bearer tokens only, no cookies), rate-limited
    by ``PORTAL_GRAPH_RATE_LIMIT`` per token, every request authenticated by ``authorize_graph``
    in its views."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    csrf.exempt(bp)
    limiter.limit(lambda: current_app.config["GRAPH_RATE_LIMIT"], key_func=_rate_key, scope="graph")(bp)
    return bp


def _rate_key() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "graph-token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "graph-ip:" + (request.remote_addr or "?")


class GraphWsgi:
    """WSGI middleware for ``/graph/``: ``//`` in PATH_INFO becomes ``/`` (no 308 round trip), and the
    ``Retry-After`` of a 429 is a whole number of seconds of at least 1 (the rate limiter writes the
    seconds left, which can round to 0; kiota then ignores it)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        collapsed = re.sub("/{2,}", "/", path)
        if not collapsed.startswith(PREFIX):
            return self.app(environ, start_response)
        environ["PATH_INFO"] = collapsed

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            if status.startswith("429"):
                kept = [(k, v) for k, v in headers if k.lower() != "retry-after"]
                seconds = next((v for k, v in headers if k.lower() == "retry-after"), "1")
                kept.append(("Retry-After", str(max(1, int(seconds)) if seconds.isdigit() else 1)))
                headers = kept
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    """Graph request and response conventions for every blueprint under ``/graph/v1.0``; the lifecycle job
    of change-notification subscriptions."""
    app.wsgi_app = GraphWsgi(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(_graph_headers)
    add_error_renderer(app, PREFIX, render_domain_error, render_http_error)
    app.extensions["graph_mailbox_sources"] = []
    init_subscriptions(app)


def _graph_headers(response):
    if not is_graph_request():
        return response
    if response.status_code not in (204, 304) and response.mimetype != "application/json":
        response.headers["Content-Type"] = "application/json"
    response.headers["request-id"] = request_id()
    if "client-request-id" in request.headers:
        response.headers["client-request-id"] = request.headers["client-request-id"][:100]
    applied = getattr(g, "graph_preference_applied", None)
    if applied:
        response.headers["Preference-Applied"] = ", ".join(applied)
    return response
