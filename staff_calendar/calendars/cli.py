"""``flask staff-calendar …``: sync the mirror, run the worker, show the status of every calendar.

Output names calendar keys, times and error classes; never URLs with credentials, secrets or
personal data."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from citizen_portal.core import worker as core_worker
from staff_calendar.calendars import mirror, status

staff_calendar_cli = AppGroup("staff-calendar", help="CalDAV mirror and outbox.")


@staff_calendar_cli.command("sync")
@click.option("--calendar", "calendar_key", help="Only this calendar key (e.g. staff:mueller).")
@click.option("--full", is_flag=True, help="Ignore the sync token and fetch every object again.")
def sync_command(calendar_key: str | None, full: bool) -> None:
    """Bring the busy-time mirror up to date (incremental where possible)."""
    results = [mirror.sync_calendar(calendar_key, full=full)] if calendar_key else mirror.sync_all(full=full)
    failed = 0
    for result in results:
        if result.ok:
            click.echo(f"{result.calendar_key}: ok ({result.mode}, {result.changed} changed, {result.deleted} "
                       f"deleted, {result.multigets} multiget, {result.seconds * 1000:.0f} ms)")
        else:
            failed += 1
            click.echo(f"{result.calendar_key}: FAILED ({result.error})")
    if not results:
        click.echo("no calendars linked")
    if failed:
        raise SystemExit(1)


@staff_calendar_cli.command("worker")
@click.option("--once", is_flag=True, help="One round of every job, then exit.")
@click.option("--interval", type=float, default=None, help="Seconds per loop (default 5).")
def worker_command(once: bool, interval: float | None) -> None:
    """The same as ``flask worker`` (kept for existing deployments)."""
    core_worker.run(current_app._get_current_object(), once=once, loop_seconds=interval, echo=click.echo)


@staff_calendar_cli.command("status")
def status_command() -> None:
    """Each calendar: last successful sync, lag, pending outbox jobs, last error, sync warnings; worker
    heartbeat."""
    now = datetime.now(UTC)
    rows = status.calendar_status(now)
    header = f"{'calendar':<32} {'mode':<6} {'last sync (UTC)':<20} {'lag':>8} {'pending':>7}  last error"
    click.echo(header)
    for row in rows:
        last = row["last_success_at"].strftime("%Y-%m-%d %H:%M:%S") if row["last_success_at"] else "never"
        lag = status.format_age(row["lag_seconds"])
        click.echo(f"{row['calendar_key']:<32} {row['mode']:<6} {last:<20} {lag:>8} {row['pending']:>7}  "
                   f"{row['last_error'] or '-'}")
        for warning in row["warnings"]:
            click.echo(f"    warning: {warning}")
    if not rows:
        click.echo("(no calendars linked)")
    beat = status.worker_status(now)
    click.echo(f"outbox pending: {beat['pending']}, failing: {beat['failing']}")
    click.echo(f"worker heartbeat: {status.format_age(beat['heartbeat_age_seconds'])} ago"
               if beat["heartbeat_age_seconds"] is not None else "worker heartbeat: never")
