"""``flask api-clients create|rotate|revoke|list``: API clients for other software (not people).

``create`` and ``rotate`` print ``client_id`` and ``client_secret`` once; only the secret's hash is kept."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from citizen_portal.core import api_clients
from citizen_portal.core.errors import DomainError
from citizen_portal.core.scopes import SCOPES

api_clients_cli = AppGroup("api-clients", help="API clients for other software (OAuth 2.0 client credentials).")


def _fail(error: DomainError) -> None:
    details = "; ".join(f"{key}: {value}" for key, value in error.fields.items())
    raise click.ClickException(f"{error.message}{' (' + details + ')' if details else ''}")


def _print_secret(result: api_clients.ClientSecret) -> None:
    click.echo(f"client_id: {result.client_id}")
    click.echo(f"client_secret: {result.client_secret}")
    click.echo("The secret is shown only now; store it in the other software's configuration.", err=True)


@api_clients_cli.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(tuple(SCOPES)),
              help="A scope the client may request (repeat for more).")
@click.option("--location", "locations", multiple=True, type=int, help="Restrict to this location id (repeatable).")
@click.option("--staff", "staff", multiple=True, help="Restrict to this staff username (repeatable).")
def create(name: str, scopes: tuple[str, ...], locations: tuple[int, ...], staff: tuple[str, ...]) -> None:
    """Create an API client and print its client_id and client_secret (once)."""
    try:
        result = api_clients.create_client(name, scopes, location_ids=locations or None,
                                           staff_usernames=staff or None)
    except DomainError as error:
        _fail(error)
    _print_secret(result)


@api_clients_cli.command("rotate")
@click.argument("client_id")
def rotate(client_id: str) -> None:
    """Give CLIENT_ID (or its number) a new secret; the old secret and its tokens stop working."""
    try:
        result = api_clients.rotate_secret(api_clients.find_client(client_id).id)
    except DomainError as error:
        _fail(error)
    _print_secret(result)


@api_clients_cli.command("revoke")
@click.argument("client_id")
def revoke(client_id: str) -> None:
    """Revoke CLIENT_ID (or its number) for good."""
    try:
        client = api_clients.revoke_client(api_clients.find_client(client_id).id)
    except DomainError as error:
        _fail(error)
    click.echo(f"revoked {client.client_id}")


@api_clients_cli.command("list")
def list_clients() -> None:
    """Every client: number, client_id, name, state, scopes, restrictions."""
    for client in api_clients.list_clients():
        state = "revoked" if client.revoked_at else "active"
        limits = []
        if client.location_ids:
            limits.append("locations=" + ",".join(str(item) for item in client.location_ids))
        if client.staff_usernames:
            limits.append("staff=" + ",".join(client.staff_usernames))
        click.echo(f"{client.id}\t{client.client_id}\t{client.name}\t{state}\t{' '.join(client.scopes)}"
                   f"{chr(9) + ' '.join(limits) if limits else ''}")
