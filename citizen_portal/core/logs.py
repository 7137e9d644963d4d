"""Request logging: one line per request with method, route, status and duration.

Rule: no personal data in logs. The line names the route pattern (``/termine/<code>``), never the
concrete path, query string, form data or client address; flask-limiter's "exceeded" lines lose the
client address too."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

log = logging.getLogger("portal.request")


class _WithoutClientKey(logging.Filter):
    """flask-limiter names the rate-limit key (the client's address) when a limit is exceeded."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 3 and "exceeded" in str(record.msg):
            record.args = (record.args[0], "client", record.args[2])
        return True


def init_app(app: Flask) -> None:
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(item, _WithoutClientKey) for item in limiter_log.filters):
        limiter_log.addFilter(_WithoutClientKey())
    if not app.config["REQUEST_LOG"]:
        return
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

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
