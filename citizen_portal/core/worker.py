"""The one worker of the platform (``flask worker``): it runs every package's registered periodic jobs
(``citizen_portal.core.jobs``), each at its own interval and in its order, and writes a heartbeat row
after every round. It knows no package: the calendar bridge registers "deliver the outbox" and
"sync the calendars" like booking registers its reminders.

Rules: one failing job never stops the others or the worker (it is rolled back and logged); a round
that fails as a whole (the database is away for a moment) is logged and retried after the loop
interval; ``once`` runs every job once and raises what fails (scripts and tests).

Several workers (hosts, containers) may run at once: a job with a period runs once per period across
all of them (``citizen_portal.core.job_leases``: a per-job lease row, claimed by compare-and-set);
the per-round drains (``every_seconds == 0``) run in every worker and lease their outbox rows."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select

from citizen_portal.core import job_leases, locks
from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.health import register_health_check
from citizen_portal.core.jobs import PeriodicJob, registered_jobs
from citizen_portal.core.logs import bound_request_id
from citizen_portal.core.models import WorkerHeartbeat

log = logging.getLogger("citizen_portal.worker")

DEFAULT_LOOP_SECONDS = 5.0
HEARTBEAT_STALE_SECONDS = 300.0

Echo = Callable[[str], object]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat(name: str, info: dict | None = None) -> None:
    with write_transaction(locks.worker_heartbeat()):
        row = db.session.get(WorkerHeartbeat, name)
        if row is None:
            row = WorkerHeartbeat(name=name)
            db.session.add(row)
        row.beat_at = datetime.now(UTC)
        row.info = info


def heartbeat_age_seconds(now: datetime | None = None) -> float | None:
    """Seconds since the newest heartbeat of any worker (``None``: no worker ever ran)."""
    beat = db.session.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    return ((now or datetime.now(UTC)) - beat).total_seconds() if beat else None


def worker_check() -> dict:
    """``/healthz``: not ok when the newest heartbeat is older than 5 minutes (``null`` before any
    worker ever ran is ok, so a fresh install is not reported down)."""
    age = heartbeat_age_seconds()
    return {"ok": age is None or age < HEARTBEAT_STALE_SECONDS, "heartbeat_age_seconds": age}


def init_app(app: Flask) -> None:
    register_health_check(app, "worker", worker_check)


def _run_job(job: PeriodicJob, once: bool, say: Echo) -> bool:
    """Run one job in its own transaction; ``True`` when it succeeded. Its log lines carry the id
    ``job-<name>-<random>`` (rows it delivers carry the id of the request that queued them)."""
    try:
        with bound_request_id(f"job-{job.name}-{uuid.uuid4().hex[:8]}"[:64]):
            message = job.run()
        db.session.commit()
    except Exception:
        db.session.rollback()
        if once:
            raise
        log.exception("periodic job %s failed", job.name)
        return False
    if isinstance(message, str) and message:
        say(f"{job.name}: {message}")
    return True


def run_round(app: Flask, *, once: bool, started: float, last_run: dict[str, float], name: str, say: Echo,
              stopping: threading.Event | None = None) -> None:
    """One round: every job that is due (every job when ``once``), then the heartbeat.

    ``last_run`` is this worker's own view per job (monotonic seconds): a job is asked for again when
    ``every_seconds`` have passed since; after a lost claim it is moved so that the next question comes
    when the job's lease or period in the database ends."""
    ran = []
    jobs = registered_jobs(app)
    job_leases.ensure_rows([job.name for job in jobs])
    for job in jobs:
        if stopping is not None and stopping.is_set():
            break
        if once or job.every_seconds <= 0:
            ok = _run_job(job, once, say)
            job_leases.record_outcome(job.name, ok=ok)
            ran.append(job.name)
            continue
        if started - last_run.get(job.name, float("-inf")) < job.every_seconds:
            continue
        now = datetime.now(UTC)
        claim = job_leases.claim(job.name, job.every_seconds, name, now=now)
        wait = max(0.0, (claim.next_check - now).total_seconds())
        last_run[job.name] = started + wait - job.every_seconds
        if not claim.won:
            continue
        ok = _run_job(job, once, say)
        job_leases.release(job.name, name, ok=ok)
        ran.append(job.name)
    heartbeat(name, {"jobs": ran})


def run(app: Flask, *, once: bool = False, loop_seconds: float | None = None, stop: threading.Event | None = None,
        echo: Echo | None = None) -> None:
    """Run the worker loop (inside an app context) until ``stop`` is set; ``once``: one round.
    SIGTERM (systemd, a container runtime) ends the loop after the job that is running, so a delivery
    in flight is finished and recorded, never sent twice."""
    say = echo or (lambda _msg: None)
    loop_seconds = DEFAULT_LOOP_SECONDS if loop_seconds is None else loop_seconds
    name = worker_name()
    last_run: dict[str, float] = {}
    stop = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        _loop(app, once, loop_seconds, name, last_run, stop, say)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _loop(app: Flask, once: bool, loop_seconds: float, name: str, last_run: dict[str, float],
          stop: threading.Event, say: Echo) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            run_round(app, once=once, started=started, last_run=last_run, name=name, say=say, stopping=stop)
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
