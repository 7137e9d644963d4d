"""Static files for production: fingerprinted names, a long immutable cache, compressed bodies.

Rules:
- ``url_for('static', filename='css/site.css')`` names the file with the first 12 hex digits of the
  SHA-256 of its content: ``/static/css/site.<hash>.css``. A new file content is a new name, so that
  name may be cached for a year (``Cache-Control: public, max-age=31536000, immutable``).
- A request for a fingerprint that is not the current one (an old page in a cache) gets the current
  file with ``no-cache``; a request without a fingerprint (files a stylesheet names relatively, such
  as fonts, or the ALTCHA worker) gets a one-day cache with ETag revalidation.
- Text files (CSS, JS, SVG, JSON) are sent compressed when the client accepts it: the Brotli or gzip
  file ``scripts/build-assets.mjs`` wrote beside it (``<name>.br``, ``<name>.gz``) when it is not older
  than the file, else gzip made once per process and kept in memory. ``Vary: Accept-Encoding`` always.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, abort, current_app, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
UNVERSIONED = "public, max-age=86400"
STALE_VERSION = "no-cache"
COMPRESSIBLE = frozenset({".css", ".js", ".mjs", ".svg", ".json", ".txt", ".map"})
MIN_COMPRESS_BYTES = 512
_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")


@lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@lru_cache(maxsize=256)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _file(filename: str) -> Path | None:
    joined = safe_join(current_app.static_folder or "", filename)
    if joined is None:
        return None
    path = Path(joined)
    return path if path.is_file() else None


def fingerprinted(filename: str) -> str:
    """``css/site.css`` → ``css/site.<12 hex digits of its SHA-256>.css``; unknown files unchanged."""
    path = _file(filename)
    if path is None or not path.suffix:
        return filename
    stat = path.stat()
    digest = _digest(str(path), stat.st_mtime_ns, stat.st_size)
    return f"{filename[: -len(path.suffix)]}.{digest}{path.suffix}"


def _split(filename: str) -> tuple[str, str | None]:
    """The real file name and the fingerprint asked for (None: none asked, or no such file)."""
    match = _FINGERPRINTED.match(filename)
    if match:
        original = match["stem"] + match["suffix"]
        if _file(original) is not None:
            return original, match["digest"]
    return filename, None


def _accepts(encoding: str) -> bool:
    return request.accept_encodings[encoding] > 0


def _body(path: Path) -> tuple[bytes, str | None]:
    """The bytes to send and their Content-Encoding (precompressed, in-memory gzip, or none)."""
    stat = path.stat()
    if path.suffix in COMPRESSIBLE and stat.st_size >= MIN_COMPRESS_BYTES:
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            packed = path.with_name(path.name + suffix)
            if _accepts(encoding) and packed.is_file() and packed.stat().st_mtime_ns >= stat.st_mtime_ns:
                return packed.read_bytes(), encoding
        if _accepts("gzip"):
            return _gzipped(str(path), stat.st_mtime_ns, stat.st_size), "gzip"
    return path.read_bytes(), None


def serve_static(filename: str) -> Response:
    """The ``static`` endpoint (see the module rules)."""
    original, asked = _split(filename)
    path = _file(original)
    if path is None:
        abort(404)
    stat = path.stat()
    current = _digest(str(path), stat.st_mtime_ns, stat.st_size)
    body, encoding = _body(path)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(body, mimetype=mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    if asked is None:
        response.headers["Cache-Control"] = UNVERSIONED
    else:
        response.headers["Cache-Control"] = IMMUTABLE if asked == current else STALE_VERSION
    response.set_etag(f"{current}-{encoding or 'identity'}")
    response.last_modified = stat.st_mtime
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Fingerprint every ``url_for('static', ...)`` and serve ``/static`` with the rules above."""

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = fingerprinted(values["filename"])

    app.view_functions["static"] = serve_static

    @app.context_processor
    def _helpers() -> dict:
        # the URL a stylesheet reaches a file by (relative, without fingerprint): what a preload must name
        return {"static_path": lambda filename: f"{request.script_root}/static/{filename}"}
