"""``flask spaces …``: release, retention and occupancy by hand (the worker runs the first two)."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask.cli import AppGroup

spaces_cli = AppGroup("spaces", help="Desks and rooms.")


@spaces_cli.command("release")
def release_command() -> None:
    """Release today's desk bookings not checked in by the release time (if check-in is on)."""
    from staff_calendar.spaces.services.housekeeping import release_unchecked

    click.echo(f"released {release_unchecked()} half days")


@spaces_cli.command("purge")
def purge_command() -> None:
    """Delete bookings and blocks that ended more than retention_days ago."""
    from staff_calendar.spaces.services.housekeeping import purge_expired

    counts = purge_expired()
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@spaces_cli.command("occupancy")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None)
def occupancy_command(first, last) -> None:
    """Print occupancy per day and floor as CSV (aggregate only)."""
    from staff_calendar.spaces.services.occupancy import occupancy_csv

    first_day = first.date() if first else date.today() - timedelta(days=date.today().weekday())
    last_day = last.date() if last else first_day + timedelta(days=13)
    click.echo(occupancy_csv(first_day, last_day), nl=False)
