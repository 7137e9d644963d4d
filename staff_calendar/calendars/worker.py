"""The calendar bridge's work for the one worker (``flask worker``), registered as periodic jobs in
``calendars/jobs.py``: deliver the outbox (probing servers whose deliveries wait after an outage,
``recovery``) and sync every calendar.

Also the background drain right after a commit (``request_background_drain``): one thread per
process at a time, with its own app context; a request while a drain runs makes it run once more."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

from citizen_portal.core.extensions import db
from staff_calendar.calendars import mirror, outbox, recovery

log = logging.getLogger("staff_calendar.worker")

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


def deliver_outbox() -> str:
    """The worker's job "calendar-outbox": deliver what is due; probe servers whose rows wait after an
    "unreachable" failure (at most every ``CALDAV_PROBE_INTERVAL_SECONDS`` per server, this process)
    and deliver again at once when one of them is back."""
    drained = outbox.drain()
    delivered, failed = drained.delivered, drained.failed
    if _probe_waiting_servers(time.monotonic(), float(current_app.config["CALDAV_PROBE_INTERVAL_SECONDS"])):
        again = outbox.drain()
        delivered, failed = delivered + again.delivered, again.failed
    return f"{delivered} delivered, {failed} failed" if delivered or failed else ""


def sync_calendars() -> str:
    """The worker's job "calendar-sync": sync every linked calendar; a server that answered again
    releases its waiting outbox rows, which are delivered at once."""
    results = mirror.sync_all()
    failed = [result.calendar_key for result in results if not result.ok]
    if any(result.released for result in results):
        outbox.drain()
    return f"{len(results) - len(failed)} ok, {len(failed)} failed"


_last_probe: dict[str, float] = {}


def _probe_waiting_servers(started: float, every: float) -> int:
    """Probe each server whose rows wait after an "unreachable" failure, at most every ``every``
    seconds per server; returns how many rows became due because their server answered."""
    released = 0
    for server, keys in recovery.waiting_servers().items():
        if started - _last_probe.get(server, float("-inf")) < every:
            continue
        _last_probe[server] = started
        if recovery.probe(keys[0]):
            released += recovery.retry_now(keys)
    return released
