"""Logs for operations: one line per request (method, route, status, duration), a request id in every
line, and optionally JSON (``LOG_FORMAT=json``: one object per line for a log collector).

Rules:
- No personal data in logs. The line names the route pattern (``/termine/<code>``), never the concrete
  path, query string, form data or client address; flask-limiter's "exceeded" lines lose the client
  address too.
- Every request has an id: the incoming ``X-Request-ID`` when it is sane (1–64 of ``A-Z a-z 0-9 . _ -``,
  so it cannot carry an address or a name with spaces), else a new random one; the response echoes it.
  Every log record made while the request runs carries it (``request_id``); work the request leaves
  for the worker (mail and calendar outbox rows) stores it, and the worker delivers the row under it
  (``bound_request_id``), so its log lines for that work carry the same id.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, request

log = logging.getLogger("portal.request")

HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the outbox row) being handled in this context, if any."""
    return _request_id.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log under ``request_id`` inside the block (the worker, delivering a row a request left)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def incoming_or_new(value: str | None) -> str:
    """The client's or proxy's ``X-Request-ID`` when sane, else a new random id (32 hex digits)."""
    if value and SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class _WithoutClientKey(logging.Filter):
    """flask-limiter names the rate-limit key (the client's address) when a limit is exceeded."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 3 and "exceeded" in str(record.msg):
            record.args = (record.args[0], "client", record.args[2])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and the exception
    (its type and traceback; the messages the code logs are already free of personal data)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _install_record_factory() -> None:
    """Every record gets ``request_id`` (``-`` outside a request), whichever handler formats it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get() or "-"
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_output(log_format: str) -> None:
    """The process's log output: a stderr handler on the root logger in the chosen format, unless
    someone (a test runner, gunicorn's ``logconfig``) set up handlers already."""
    if log_format not in {"text", "json"}:
        raise ValueError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "portal_handler", False)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else logging.StreamHandler()
    handler.portal_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    if not ours:
        root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    _install_record_factory()
    configure_output(app.config["LOG_FORMAT"])
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(item, _WithoutClientKey) for item in limiter_log.filters):
        limiter_log.addFilter(_WithoutClientKey())

    def _bind_request_id() -> None:
        g.request_id = incoming_or_new(request.headers.get(HEADER))
        g.request_id_token = _request_id.set(g.request_id)

    # first of all hooks: a request refused by an earlier hook (a rate limit) has its id too
    app.before_request_funcs.setdefault(None, []).insert(0, _bind_request_id)

    @app.after_request
    def _echo_request_id(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    @app.teardown_request
    def _unbind_request_id(_error=None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                _request_id.reset(token)
            except ValueError:  # torn down in another context (streamed response): just unbind
                _request_id.set(None)

    if not app.config["REQUEST_LOG"]:
        return

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.pop("request_started", None)
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        log.info("%s %s %s %.1fms", request.method, route, response.status_code, duration_ms)
        return response
