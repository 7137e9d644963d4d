"""Periodic jobs run once per period across every worker (``citizen_portal.core.job_leases``)."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from citizen_portal.core import job_leases, worker
from citizen_portal.core.extensions import db
from citizen_portal.core.jobs import register_job
from citizen_portal.core.models import JobLease

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_claim_is_compare_and_set(app):
    job_leases.ensure_rows(["job"])
    job_leases.ensure_rows(["job"])  # twice: no error, one row
    assert db.session.query(JobLease).count() >= 1
    first = job_leases.claim("job", 60, "a", now=T0)
    second = job_leases.claim("job", 60, "b", now=T0)
    assert first.won and not second.won
    assert second.next_check == T0 + timedelta(seconds=job_leases.DEFAULT_LEASE_SECONDS)  # the lease
    job_leases.release("job", "a", ok=True, now=T0 + timedelta(seconds=5))
    row = db.session.get(JobLease, "job")
    assert row.last_success_at == T0 + timedelta(seconds=5) and row.last_failure_at is None
    later = job_leases.claim("job", 60, "b", now=T0 + timedelta(seconds=30))
    assert not later.won and later.next_check == T0 + timedelta(seconds=60)  # the period
    assert job_leases.claim("job", 60, "b", now=T0 + timedelta(seconds=60)).won


def test_a_dead_workers_lease_ends_and_a_release_by_another_changes_nothing(app):
    job_leases.ensure_rows(["job"])
    assert job_leases.claim("job", 10, "dead", now=T0, lease_seconds=120).won
    assert not job_leases.claim("job", 10, "b", now=T0 + timedelta(seconds=60)).won  # still leased
    job_leases.release("job", "b", ok=True, now=T0 + timedelta(seconds=60))  # not b's lease
    assert db.session.get(JobLease, "job").leased_until == T0 + timedelta(seconds=120)
    assert job_leases.claim("job", 10, "b", now=T0 + timedelta(seconds=121)).won


def test_a_failing_job_is_recorded_and_waits_for_its_next_period(app, monkeypatch):
    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(app.extensions, "periodic_jobs", {})
    register_job(app, "broken", broken, 3600)
    last_run: dict[str, float] = {}
    worker.run_round(app, once=False, started=0.0, last_run=last_run, name="w", say=lambda _m: None)
    row = db.session.get(JobLease, "broken")
    assert row.last_failure_at is not None and row.last_success_at is None
    assert row.due_at > row.last_started_at  # next period, not the next round
    assert last_run["broken"] == 0.0


@pytest.mark.race
def test_two_worker_processes_run_each_periodic_job_once_per_period(fresh_database_url, tmp_path):
    log = tmp_path / "runs.log"
    seconds = 5.0
    command = [sys.executable, "-m", "tests.fixtures.periodic_worker", fresh_database_url, str(log), str(seconds), "2"]
    processes = [subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE) for _ in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=90)
        assert process.returncode == 0, err.decode()[-2000:]
    runs: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for line in log.read_text().splitlines():
        job, pid, at = line.split()
        runs[job].append((int(pid), float(at)))
    pids = {process.pid for process in processes}
    assert {pid for pid, _ in runs["each-round"]} == pids  # both workers were running all along
    for job, period in (("every-second", 1.0), ("every-two-seconds", 2.0)):
        times = sorted(at for _, at in runs[job])
        gaps = [b - a for a, b in pairwise(times)]
        assert min(gaps) >= period - 0.05, (job, gaps)  # never twice in one period, whoever ran it
        # the gaps above are the rule (never twice in one period, however long the workers ran); and it
        # came round again (on an idle machine in every period; a busy one gives each worker a share of
        # a core, so the count is not asserted)
        assert len(times) >= 2, (job, len(times))
