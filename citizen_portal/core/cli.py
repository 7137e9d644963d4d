"""``flask translate extract|update|compile``: one catalog per area under ``translations/<area>/``.

Each area's sources are listed in ``babel/<area>.cfg``; German is the source language and
English the translation. Compiled ``.mo`` files are built, never committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from citizen_portal.core import worker
from citizen_portal.core.config import settings_table_markdown
from citizen_portal.core.i18n import TRANSLATION_AREAS, TRANSLATIONS_ROOT

translate_cli = AppGroup("translate", help="Extract, update and compile the message catalogs.")

PROJECT_ROOT = TRANSLATIONS_ROOT.parent
TARGET_LOCALES = ("en",)


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    subprocess.run(command, check=True, cwd=PROJECT_ROOT)


def _areas(area: str | None) -> tuple[str, ...]:
    return (area,) if area else TRANSLATION_AREAS


@translate_cli.command("extract")
@click.option("--area", type=click.Choice(TRANSLATION_AREAS))
def extract(area: str | None) -> None:
    """Extract the texts of each area into translations/<area>/messages.pot."""
    for name in _areas(area):
        directory = TRANSLATIONS_ROOT / name
        directory.mkdir(parents=True, exist_ok=True)
        _pybabel("extract", "-F", f"babel/{name}.cfg", "-k", "_l", "--sort-by-file",
                 "--no-wrap", "-o", str(directory / "messages.pot"), ".")
        click.echo(f"extracted {name}")


@translate_cli.command("update")
@click.option("--area", type=click.Choice(TRANSLATION_AREAS))
def update(area: str | None) -> None:
    """Merge each area's template into its English catalog (creating it if missing)."""
    for name in _areas(area):
        directory = TRANSLATIONS_ROOT / name
        for locale in TARGET_LOCALES:
            catalog = directory / locale / "LC_MESSAGES" / "messages.po"
            action = "update" if catalog.exists() else "init"
            _pybabel(action, "-i", str(directory / "messages.pot"), "-d", str(directory),
                     "-l", locale, *(["--no-wrap"] if action == "update" else []))
        click.echo(f"updated {name}")


@translate_cli.command("compile")
def compile_catalogs() -> None:
    """Compile every area's catalogs to .mo files (run by the build)."""
    for name in TRANSLATION_AREAS:
        directory = TRANSLATIONS_ROOT / name
        if any(Path(directory).glob("*/LC_MESSAGES/messages.po")):
            _pybabel("compile", "-d", str(directory), "--use-fuzzy")
    click.echo("compiled")


config_cli = AppGroup("config", help="The settings this platform reads (PORTAL_* variables).")


@config_cli.command("table")
def config_table() -> None:
    """Print every setting with its type, default and meaning (the README's table)."""
    click.echo(settings_table_markdown())


@click.command("worker")
@click.option("--once", is_flag=True, help="One round of every job, then exit.")
@click.option("--interval", type=float, default=None, help="Seconds per loop (default 5).")
@with_appcontext
def worker_command(once: bool, interval: float | None) -> None:
    """Run the periodic jobs of every package: deliver calendar events, sync calendars, reminders, purges."""
    try:
        worker.run(current_app._get_current_object(), once=once, loop_seconds=interval, echo=click.echo)
    except KeyboardInterrupt:
        click.echo("worker stopped")
