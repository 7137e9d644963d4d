"""Metrics for operations: ``/metrics`` in the Prometheus text format (``prometheus-client``).

What is measured:
- per request (this module): ``portal_http_request_duration_seconds`` by method, route *pattern*
  (``/termine/<code>``, never the concrete path) and status;
- events counted where they happen (``counter``): packages declare their counters once, e.g.
  booking's bookings, cancellations and no-shows;
- state read from the database at scrape time (``register_gauge``): each package registers its
  gauges in its ``jobs.py:register(app)`` (outbox backlogs, calendar sync lag, webhook failures …);
  the core adds every periodic job's last success (``job_leases``).

Rules: several gunicorn workers each count their own requests; with ``PROMETHEUS_MULTIPROC_DIR`` set
(an empty directory per start, ``deploy/gunicorn.conf.py``) every process writes there and a scrape
sums them (``prometheus_client.multiprocess``). The page answers only a scraper with the token
``METRICS_TOKEN`` (``Authorization: Bearer …``) or from an address in ``METRICS_ALLOW``; anyone
else gets 404, as if there were no such page. Labels never hold personal data.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from citizen_portal.core import job_leases
from citizen_portal.core.extensions import csrf, db, limiter

log = logging.getLogger("citizen_portal.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[str, ...]

REQUEST_DURATION = Histogram(
    "portal_http_request_duration_seconds", "Time to answer a request, by route pattern",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

_counters: dict[str, Counter] = {}


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """The process's counter ``name`` (declared once; a second declaration returns the first)."""
    if name not in _counters:
        _counters[name] = Counter(name, documentation, list(labels))
    return _counters[name]


@dataclass(frozen=True)
class Gauge:
    """A value read from the database when ``/metrics`` is scraped: each reader returns
    ``{label values: value}`` (``{(): value}`` for a gauge without labels). Several packages may add
    readers to one gauge (the outbox backlog: ``outbox="mail"``, ``outbox="calendar"``, …)."""

    name: str
    documentation: str
    labels: Labels
    readers: tuple[Callable[[], dict[Labels, float]], ...]


def register_gauge(app: Flask, name: str, documentation: str, read: Callable[[], dict[Labels, float]],
                   labels: Sequence[str] = ()) -> None:
    """Add a reader to the gauge ``name``, read at scrape time (a package calls this from its
    ``jobs.py:register``); every reader of one gauge uses the same labels."""
    gauges: dict[str, Gauge] = app.extensions.setdefault("metrics_gauges", {})
    known = gauges.get(name)
    if known is not None and known.labels != tuple(labels):
        raise ValueError(f"gauge {name} has the labels {known.labels}, not {tuple(labels)}")
    readers = (known.readers if known else ()) + (read,)
    gauges[name] = Gauge(name, documentation, tuple(labels), readers)


def registered_gauges(app: Flask) -> list[Gauge]:
    return sorted(app.extensions.get("metrics_gauges", {}).values(), key=lambda gauge: gauge.name)


# the gauges of every transactional outbox (mail, calendar events, webhooks): one name, label ``outbox``
OUTBOX_BACKLOG = ("portal_outbox_backlog", "Rows waiting for delivery, per outbox")
OUTBOX_OLDEST_AGE = ("portal_outbox_oldest_age_seconds", "Age of the oldest waiting row, per outbox (0: none)")


def register_outbox(app: Flask, outbox: str, read: Callable[[], tuple[int, datetime | None]]) -> None:
    """Register an outbox's backlog and oldest age; ``read()`` returns (waiting rows, oldest row's time)."""
    def backlog() -> dict[Labels, float]:
        return {(outbox,): float(read()[0])}

    def oldest() -> dict[Labels, float]:
        return {(outbox,): age_seconds(read()[1])}

    register_gauge(app, *OUTBOX_BACKLOG, backlog, ["outbox"])
    register_gauge(app, *OUTBOX_OLDEST_AGE, oldest, ["outbox"])


def age_seconds(moment: datetime | None, now: datetime | None = None) -> float:
    """Seconds since ``moment`` (0 when there is none: an empty backlog has no age)."""
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds()) if moment else 0.0


def timestamp(moment: datetime | None) -> float:
    """POSIX seconds of ``moment`` (0: never)."""
    return moment.timestamp() if moment else 0.0


class _DatabaseGauges(Collector):
    """Collects every registered gauge inside the app context of the scrape; a gauge that fails is
    left out of this scrape (and logged) instead of failing the whole page."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for gauge in registered_gauges(self.app):
            values: dict[Labels, float] = {}
            for read in gauge.readers:
                try:
                    values.update(read())
                except Exception:
                    db.session.rollback()
                    log.exception("metrics gauge %s failed", gauge.name)
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            for label_values, value in sorted(values.items()):
                family.add_metric(list(label_values), float(value))
            yield family


def _job_last_success() -> dict[Labels, float]:
    return {(name,): timestamp(moment) for name, moment in job_leases.last_successes().items()}


def scrape(app: Flask) -> bytes:
    """The Prometheus text of this process (or of every process, in multiprocess mode) plus the gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        sources = [registry]
    else:
        sources = [REGISTRY, registry]
    registry.register(_DatabaseGauges(app))
    return b"".join(generate_latest(source) for source in sources)


def allowed(remote_addr: str | None, authorization: str | None) -> bool:
    """May this request read the metrics? A matching bearer token or an allowed address."""
    token = current_app.config["METRICS_TOKEN"]
    given = (authorization or "").removeprefix("Bearer ").strip() if (authorization or "").startswith("Bearer ") else ""
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(current_app.config["METRICS_ALLOW"]))


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``METRICS_ALLOW`` parsed: comma-separated addresses or networks (``127.0.0.1, 10.0.0.0/8``)."""
    return [ipaddress.ip_network(item.strip(), strict=False) for item in setting.split(",") if item.strip()]


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@limiter.exempt
def metrics_page() -> Response:
    if not allowed(request.remote_addr, request.headers.get("Authorization")):
        abort(404)
    return Response(scrape(current_app._get_current_object()), content_type=CONTENT_TYPE)


def init_app(app: Flask) -> None:
    """The ``/metrics`` page, the request timer and the core's gauges (a bad ``METRICS_ALLOW`` stops
    the start, like any bad setting)."""
    allowed_networks(app.config["METRICS_ALLOW"])
    csrf.exempt(bp)
    app.register_blueprint(bp)
    register_gauge(app, "portal_job_last_success_timestamp_seconds",
                   "When each periodic job last succeeded (POSIX seconds, 0: never)", _job_last_success, ["job"])

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "<unmatched>"
            REQUEST_DURATION.labels(request.method, route, str(response.status_code)).observe(
                time.perf_counter() - started)
        return response
