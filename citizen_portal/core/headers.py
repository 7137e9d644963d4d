"""Security headers on every response.

Rules:
- Content-Security-Policy: scripts, styles, fonts and images only from this site (no inline script or
  style, no third party; the ALTCHA widget's CSP-strict build loads its worker from this site);
  ``frame-ancestors 'none'`` (staff pages with one-click POST forms cannot be framed), forms post only
  here, no plugins, no ``<base>``.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` (no path with a code or token
  leaves the site), ``X-Frame-Options: DENY`` for old browsers, ``Cross-Origin-Opener-Policy``, a
  ``Permissions-Policy`` that switches off what the platform never uses.
- Private answers are never stored by caches: a response to a logged-in user, one that carries or
  changes a session cookie, and every answer with an ``Authorization`` header gets
  ``Cache-Control: no-store`` unless the view set its own.
- ``Strict-Transport-Security`` when the request came over HTTPS (behind the proxy: see ``PROXY_FIX``).
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_login import current_user
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
))
STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000"


def _is_private(response: Response) -> bool:
    if "Authorization" in request.headers:
        return True
    # Without a cookie nobody is logged in: the user is only loaded when one came along.
    if request.cookies and getattr(current_user, "is_authenticated", False):
        return True
    if session.modified or (session.accessed and session):
        return True
    return any(header.lower().startswith("session=") for header in response.headers.getlist("Set-Cookie"))


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend([(name, value) for name, value in STATIC_HEADERS.items()
                                 if name.lower() not in present])
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if "Cache-Control" not in response.headers and _is_private(response):
            response.headers["Cache-Control"] = "no-store"
        return response
