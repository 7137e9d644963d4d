"""gunicorn settings for production (``gunicorn -c deploy/gunicorn.conf.py``).

Everything can be changed by environment variables, so the systemd unit and the container use this
file unchanged: ``GUNICORN_BIND`` (default 127.0.0.1:8000; the container sets 0.0.0.0:8000),
``GUNICORN_WORKERS`` (default 2 × CPUs + 1, at most 8), ``GUNICORN_TIMEOUT``.

Metrics: every worker process counts its own requests; ``PROMETHEUS_MULTIPROC_DIR`` (default
``/run/municipal-services/metrics`` under systemd, see the unit) makes them write to one directory
that a scrape of ``/metrics`` sums. The directory is emptied when gunicorn starts (stale files of an
earlier run would count twice) and a worker's files are marked dead when it exits.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

wsgi_app = "citizen_portal.app:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 8)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20  # SIGTERM: requests in flight finish (systemd waits longer: TimeoutStopSec)
keepalive = 5
max_requests = 2000  # a worker is replaced now and then (no slow leak lives for ever)
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app logs one line per request itself, without personal data (no client address)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "municipal-services"
preload_app = False  # each worker builds the app itself: no database connection is shared across fork

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server) -> None:
    """Empty the metrics directory before the first worker starts."""
    if _metrics_dir:
        path = Path(_metrics_dir)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    """A worker that exits keeps its counters in the sum but its live gauges leave it."""
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
