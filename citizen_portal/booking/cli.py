"""``flask booking …``: run the booking jobs by hand, look at free slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup

from citizen_portal.core.i18n import site_timezone

booking_cli = AppGroup("booking", help="Appointments: reminders, purges.")


@booking_cli.command("expire-holds")
def expire_holds_command() -> None:
    """Expire unconfirmed holds whose time ran out."""
    from citizen_portal.booking.services import expire_holds

    click.echo(f"expired {expire_holds()} holds")


@booking_cli.command("send-reminders")
def send_reminders_command() -> None:
    """Send due reminder mails."""
    from citizen_portal.booking.services import send_reminders

    click.echo(f"sent {send_reminders()} reminders")


@booking_cli.command("erase")
def erase_command() -> None:
    """Erase personal data of appointments past the retention time."""
    from citizen_portal.booking.services import erase_personal_data

    click.echo(f"erased {erase_personal_data()} appointments")


@booking_cli.command("slots")
@click.argument("service")
@click.option("--days", default=7, show_default=True)
@click.option("--location")
def slots_command(service: str, days: int, location: str | None) -> None:
    """Print the free times of SERVICE for the next DAYS days."""
    from citizen_portal.booking.services import find_slots

    first = datetime.now(UTC).astimezone(site_timezone()).date()
    for slot in find_slots(service, first, first + timedelta(days=days - 1), location_key=location):
        click.echo(f"{slot.start.astimezone(site_timezone()):%a %Y-%m-%d %H:%M}  {slot.location_key}")
