"""Request bodies without a ``Content-Length`` (``Transfer-Encoding: chunked``) obey ``MAX_CONTENT_LENGTH``
like any other body.

Rules:
- Werkzeug checks ``MAX_CONTENT_LENGTH`` against the ``Content-Length`` header; a chunked body has
  none, and behind gunicorn it was read as empty (a form lost its CSRF token: 400, a JSON body became
  "send a JSON object": 400), so the client never learnt that its body was too large.
- This WSGI middleware reads such a body up to the limit plus one byte and hands the app a body of
  known length: within the limit the request goes on unchanged; past it the app sees a length over
  the limit, so reading the body raises Werkzeug's ``RequestEntityTooLarge``: the same translated 413
  as an oversized body with a ``Content-Length`` (the rest of the body is never read).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask


class ChunkedBodyLimit:
    """WSGI middleware: a chunked request body becomes one of known length, at most the limit + 1 byte."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if limit and chunked and not environ.get("CONTENT_LENGTH"):
            data = environ["wsgi.input"].read(int(limit) + 1)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, app)  # type: ignore[method-assign]
