"""``flask site check FILE`` and ``flask site load FILE``.

Rules: ``check`` changes nothing, prints every error as ``key: problem`` and exits 1 when there is
one; ``load`` validates first (and then changes nothing on an error), applies the file in one
transaction and prints each change, then ``N changes`` or ``no changes``."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from citizen_portal.site.schema import SiteFile, SiteFileInvalid, parse_site_file

site_cli = AppGroup("site", help="Check and load the site file.")


def _parse_or_exit(path: str) -> SiteFile:
    try:
        return parse_site_file(path, current_app.config["TIMEZONE"])
    except SiteFileInvalid as invalid:
        for error in invalid.errors:
            click.echo(str(error), err=True)
        count = len(invalid.errors)
        click.echo(f"{path}: {count} error{'s' if count != 1 else ''}, nothing changed", err=True)
        raise SystemExit(1) from None


def secret_warnings(parsed: SiteFile, environ: dict[str, str] | None = None) -> list[str]:
    """Calendar secrets that this environment cannot resolve (a warning: the server's
    environment may differ from the one running the command)."""
    environ = dict(os.environ if environ is None else environ)
    instance = Path(current_app.instance_path)
    owners = [(f"staff[{spec.key}]", spec.calendar) for spec in parsed.staff]
    owners += [(f"rooms[{spec.key}]", spec.calendar) for spec in parsed.rooms]
    warnings = []
    for path, calendar in owners:
        if calendar is None:
            continue
        if calendar.password_env and calendar.password_env not in environ:
            warnings.append(f"{path}.calendar.password_env: {calendar.password_env} is not set here")
        if calendar.password_file and not (instance / calendar.password_file).is_file():
            warnings.append(f"{path}.calendar.password_file: {instance / calendar.password_file} does not exist")
    return sorted(set(warnings))


@site_cli.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def check_command(file: str) -> None:
    """Validate FILE; print every error as `key: problem`. Changes nothing."""
    parsed = _parse_or_exit(file)
    for warning in secret_warnings(parsed):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"OK: {parsed.summary()}")


@site_cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
def load_command(file: str) -> None:
    """Validate FILE, then create/update what it names and deactivate what it no longer names."""
    from citizen_portal.site.services import apply_site

    parsed = _parse_or_exit(file)
    report = apply_site(parsed)
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary())
