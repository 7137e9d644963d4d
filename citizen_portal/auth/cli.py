"""``flask users create|set-password|list`` and ``flask users token create|list|revoke``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from citizen_portal.auth import services
from citizen_portal.core import api_tokens
from citizen_portal.core.access import ROLES
from citizen_portal.core.errors import DomainError

users_cli = AppGroup("users", help="Staff accounts.")
token_cli = AppGroup("token", help="API tokens for other software.")
users_cli.add_command(token_cli)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _fail(error: DomainError) -> None:
    details = "; ".join(f"{key}: {value}" for key, value in error.fields.items())
    raise click.ClickException(f"{error.message}{' (' + details + ')' if details else ''}")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name (default: the username).")
@click.option("--email", default=None)
@click.option("--roles", default="staff", show_default=True, help=f"Comma-separated: {', '.join(ROLES)}.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--no-password", is_flag=True, help="Create without password (cannot log in yet).")
def create(username: str, display_name: str, email: str | None, roles: str, password_stdin: bool,
           no_password: bool) -> None:
    """Create a staff account."""
    password = None if no_password else _read_password(password_stdin)
    try:
        user = services.create_user(username, display_name or username, email=email, roles=roles,
                                    password=password)
    except DomainError as error:
        _fail(error)
    click.echo(f"created {user.username} ({user.roles})")


@users_cli.command("link-oidc")
@click.argument("username")
@click.argument("subject")
@click.option("--issuer", default=None, help="The provider's issuer (default: PORTAL_OIDC_ISSUER).")
def link_oidc(username: str, subject: str, issuer: str | None) -> None:
    """Link an existing account to the provider's stable subject (``sub``) of its owner."""
    from flask import current_app

    from citizen_portal.auth import oidc

    issuer = issuer or current_app.config["OIDC_ISSUER"]
    if not issuer:
        raise click.ClickException("no issuer: set PORTAL_OIDC_ISSUER or pass --issuer")
    try:
        user = oidc.link_account(username, issuer, subject)
    except DomainError as error:
        _fail(error)
    click.echo(f"linked {user.username}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def set_password(username: str, password_stdin: bool) -> None:
    """Set a staff account's password."""
    password = _read_password(password_stdin)
    try:
        user = services.set_password(username, password)
    except DomainError as error:
        _fail(error)
    click.echo(f"password set for {user.username}")


@users_cli.command("list")
def list_users() -> None:
    """List staff accounts (username, roles, active, last login)."""
    for user in services.list_users():
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "-"
        state = "active" if user.active else "inactive"
        click.echo(f"{user.username}\t{user.roles}\t{state}\t{last}")


@token_cli.command("create")
@click.argument("username")
@click.argument("name")
@click.option("--days", type=int, default=None, help="days the token is valid (default: PORTAL_API_TOKEN_DAYS)")
def token_create(username: str, name: str, days: int | None) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    try:
        token = api_tokens.create_api_token(username, name, days)
    except DomainError as error:
        _fail(error)
    click.echo(token)


@token_cli.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """List a user's API tokens (id, name, created, expires, last used, revoked; times in UTC)."""
    try:
        tokens = api_tokens.list_api_tokens(username)
    except DomainError as error:
        _fail(error)
    click.echo("id\tname\tcreated\texpires\tlast used\trevoked")
    for token in tokens:
        times = [token.created_at, token.expires_at, token.last_used_at, token.revoked_at]
        click.echo("\t".join([str(token.id), token.name,
                              *(moment.isoformat(timespec="minutes") if moment else "-" for moment in times)]))


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an API token by id."""
    try:
        api_tokens.revoke_api_token(token_id)
    except DomainError as error:
        _fail(error)
    click.echo(f"revoked token {token_id}")
