"""``flask polls ...``: demo data, archiving, recount."""

from __future__ import annotations

import click
from flask.cli import AppGroup

polls_cli = AppGroup("polls", help="Polls and suggestions.")


@polls_cli.command("demo")
def demo() -> None:
    """Create (idempotently) the open demo poll and write 5 printed codes to instance/demo_poll_codes.txt."""
    from .demo import load_demo_poll

    path = load_demo_poll()
    click.echo(f"demo poll ready; codes in {path}")


@polls_cli.command("archive")
def archive() -> None:
    """Archive polls closed for POLLS_ARCHIVE_AFTER_DAYS (deletes email hashes)."""
    from .jobs import archive_closed_polls

    click.echo(f"archived {archive_closed_polls()} poll(s)")


@polls_cli.command("recount")
@click.argument("poll_id", type=int)
def recount(poll_id: int) -> None:
    """Compare the result counters with the ballots; exit 1 on a difference."""
    from .services.results import recount as run

    differences = run(poll_id)
    if differences:
        click.echo(f"differences: {differences}")
        raise SystemExit(1)
    click.echo("counters match the ballots")
