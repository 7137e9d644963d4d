"""The worker: drains the outbox, probes servers whose deliveries wait after an outage (``recovery``),
syncs every calendar periodically, runs the registered periodic jobs of all packages
(``citizen_portal.core.jobs``), and writes a heartbeat row after every loop.

Also the background drain right after a commit (``request_background_drain``): one thread per
process at a time, with its own app context; a request while a drain runs makes it run once more."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from flask import Flask, current_app

from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import registered_jobs
from staff_calendar.calendars import mirror, outbox, recovery
from staff_calendar.calendars.models import WorkerHeartbeat

log = logging.getLogger("staff_calendar.worker")

DEFAULT_LOOP_SECONDS = 5.0

_drain_lock = threading.Lock()
_drain_again = threading.Event()
_drain_thread: threading.Thread | None = None


def request_background_drain() -> None:
    global _drain_thread
    app = current_app._get_current_object()
    if not app.config["OUTBOX_DRAIN_AFTER_COMMIT"]:
        return
    _drain_again.set()
    if not _drain_lock.acquire(blocking=False):
        return  # the running drain will go round once more
    _drain_thread = threading.Thread(target=_background_drain, args=(app,), name="outbox-drain", daemon=True)
    _drain_thread.start()


def wait_for_background_drain(timeout: float = 10.0) -> None:
    """For tests and graceful shutdown."""
    thread = _drain_thread
    if thread is not None:
        thread.join(timeout)


def _background_drain(app: Flask) -> None:
    try:
        while _drain_again.is_set():
            _drain_again.clear()
            with app.app_context():
                try:
                    outbox.drain(limit=100, timeout=float(app.config["CALDAV_TIMEOUT_SECONDS"]))
                except Exception:  # the worker retries; never crash the web process
                    log.exception("background drain failed")
                finally:
                    db.session.remove()
    finally:
        _drain_lock.release()


def _drain(say) -> None:
    drained = outbox.drain()
    if drained.attempted:
        say(f"outbox: {drained.delivered} delivered, {drained.failed} failed")


def _probe_waiting_servers(started: float, every: float, last_probe: dict[str, float]) -> int:
    """Probe each server whose rows wait after an "unreachable" failure, at most every ``every``
    seconds per server; returns how many rows became due because their server answered."""
    released = 0
    for server, keys in recovery.waiting_servers().items():
        if started - last_probe.get(server, float("-inf")) < every:
            continue
        last_probe[server] = started
        if recovery.probe(keys[0]):
            released += recovery.retry_now(keys)
    return released


def heartbeat(name: str, info: dict | None = None) -> None:
    with write_transaction("calendar-worker-heartbeat"):
        row = db.session.get(WorkerHeartbeat, name)
        if row is None:
            row = WorkerHeartbeat(name=name)
            db.session.add(row)
        row.beat_at = datetime.now(UTC)
        row.info = info


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run(app: Flask, *, once: bool = False, loop_seconds: float | None = None, stop: threading.Event | None = None,
        echo=None) -> None:
    """Run the worker loop (inside an app context). ``once``: one iteration, then return."""
    say = echo or (lambda _msg: None)
    loop_seconds = DEFAULT_LOOP_SECONDS if loop_seconds is None else loop_seconds
    sync_every = float(app.config["CALDAV_SYNC_INTERVAL_SECONDS"])
    name = worker_name()
    last_sync = float("-inf")
    last_job_run: dict[str, float] = {}
    last_probe: dict[str, float] = {}
    stop = stop or threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        try:
            last_sync = _round(app, once, started, last_sync, sync_every, last_job_run, last_probe, name, say)
        except Exception:  # e.g. the database is away for a moment: log, wait, go on
            if once:
                raise
            db.session.rollback()
            log.exception("worker round failed")
        finally:
            db.session.remove()
        if once:
            return
        stop.wait(max(0.0, loop_seconds - (time.monotonic() - started)))


def _round(app: Flask, once: bool, started: float, last_sync: float, sync_every: float,
           last_job_run: dict[str, float], last_probe: dict[str, float], name: str, say) -> float:
    """One worker round; returns the (possibly new) time of the last sync."""
    _drain(say)
    probe_every = float(app.config["CALDAV_PROBE_INTERVAL_SECONDS"])
    if _probe_waiting_servers(started, probe_every, last_probe):
        _drain(say)
    if once or started - last_sync >= sync_every:
        results = mirror.sync_all()
        last_sync = started
        failed = [r.calendar_key for r in results if not r.ok]
        say(f"sync: {len(results) - len(failed)} ok, {len(failed)} failed")
        if any(r.released for r in results):  # a synced server is back: its waiting rows are due
            _drain(say)
    for job in registered_jobs(app):
        if once or started - last_job_run.get(job.name, -1e18) >= job.every_seconds:
            last_job_run[job.name] = started
            try:
                job.run()
                db.session.commit()
            except Exception:  # one failing job never stops the worker
                db.session.rollback()
                log.exception("periodic job %s failed", job.name)
    heartbeat(name, {"pending": outbox.pending_count()})
    return last_sync
