"""Per-job leases: a periodic job runs once per period across every worker process on one database.

Rules: a job's row (``job_leases``) is claimed by one compare-and-set statement, ``UPDATE … SET
leased_until = now + lease WHERE name = … AND due_at <= now AND leased_until <= now``; on
PostgreSQL the second of two concurrent updates re-reads the row after the first commits and finds
the condition false, on SQLite the database's single write lock orders them: exactly one worker
gets ``rowcount == 1``. The claim moves ``due_at`` one period on, so a job that fails is retried in
the next period (as before), and a worker that dies mid-job frees the job when its lease ends.
Jobs with ``every_seconds == 0`` (the outbox drains) are not leased: they run in every round of every
worker and lease their rows themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from citizen_portal.core.database import write_transaction
from citizen_portal.core.extensions import db
from citizen_portal.core.models import JobLease

DEFAULT_LEASE_SECONDS = 900.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Claim:
    """The answer of ``claim``: ``won`` whether this worker runs the job now; ``next_check`` the
    earliest moment another claim can succeed (the worker does not ask the database before)."""

    won: bool
    next_check: datetime


def ensure_rows(names: list[str]) -> None:
    """Create the missing rows (due at once); two workers starting together both may try: the
    loser's ``IntegrityError`` is expected and ignored."""
    known = set(db.session.scalars(select(JobLease.name).where(JobLease.name.in_(names))))
    db.session.commit()
    for name in names:
        if name in known:
            continue
        try:
            with write_transaction():
                db.session.add(JobLease(name=name, due_at=EPOCH, leased_until=EPOCH))
        except IntegrityError:
            pass


def claim(name: str, every_seconds: float, worker: str, *, now: datetime | None = None,
          lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Claim:
    """Claim the job ``name`` for this period (compare-and-set, see the module's rules); commits."""
    now = now or datetime.now(UTC)
    with write_transaction():
        result = db.session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.due_at <= now, JobLease.leased_until <= now)
            .values(leased_until=now + timedelta(seconds=lease_seconds), leased_by=worker, last_started_at=now,
                    due_at=now + timedelta(seconds=every_seconds))
            .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        return Claim(True, now + timedelta(seconds=every_seconds))
    row = db.session.get(JobLease, name)
    db.session.commit()
    next_check = max(row.due_at, row.leased_until) if row is not None else now
    return Claim(False, next_check)


def release(name: str, worker: str, *, ok: bool, now: datetime | None = None) -> None:
    """End this worker's lease of ``name`` and record the outcome (``last_success_at`` /
    ``last_failure_at``); a lease another worker took over meanwhile is left alone."""
    now = now or datetime.now(UTC)
    values = {"leased_until": now, "last_success_at" if ok else "last_failure_at": now}
    with write_transaction():
        db.session.execute(update(JobLease).where(JobLease.name == name, JobLease.leased_by == worker)
                           .values(**values).execution_options(synchronize_session=False))


def record_outcome(name: str, *, ok: bool, now: datetime | None = None) -> None:
    """Record the outcome of a run without a lease (``flask worker --once``, the per-round drains)."""
    now = now or datetime.now(UTC)
    column = "last_success_at" if ok else "last_failure_at"
    with write_transaction():
        db.session.execute(update(JobLease).where(JobLease.name == name).values({column: now})
                           .execution_options(synchronize_session=False))


def last_successes() -> dict[str, datetime | None]:
    """Every job's last successful run (metrics, status pages)."""
    return {row.name: row.last_success_at for row in db.session.scalars(select(JobLease))}
