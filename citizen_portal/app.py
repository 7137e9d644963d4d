"""The application factory: a table of contents of the platform.

``create_app`` only wires things together: it does no network and no database work."""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask

from citizen_portal import captcha, config, database, errors, i18n, logs
from citizen_portal.extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent

MODEL_MODULES = (
    "citizen_portal.models",
    "citizen_portal.booking.models",
    "staff_calendar.calendars.models",
    "staff_calendar.spaces.models",
    "polls.models",
)

BLUEPRINTS = (
    "citizen_portal.pages.views:bp",
    "citizen_portal.auth.views:bp",
    "citizen_portal.booking.views:bp",
    "citizen_portal.booking.staff_views:bp",
    "citizen_portal.booking.admin_views:bp",
    "citizen_portal.booking.api:bp",
    "staff_calendar.spaces.views:bp",
    "staff_calendar.spaces.admin_views:bp",
    "staff_calendar.spaces.api:bp",
    "polls.views:bp",
    "polls.admin_views:bp",
    "polls.api:bp",
)

CLI_GROUPS = (
    "citizen_portal.cli:translate_cli",
    "citizen_portal.auth.cli:users_cli",
    "citizen_portal.site.cli:site_cli",
    "citizen_portal.booking.cli:booking_cli",
    "staff_calendar.calendars.cli:staff_calendar_cli",
    "staff_calendar.spaces.cli:spaces_cli",
    "polls.cli:polls_cli",
)

# Each package registers its periodic jobs (reminders, purges, releases) for the worker.
JOB_REGISTRATIONS = (
    "citizen_portal.booking.jobs:register",
    "staff_calendar.calendars.jobs:register",
    "staff_calendar.spaces.jobs:register",
    "polls.jobs:register",
)


def _load(target: str) -> Any:
    module_name, attribute = target.split(":")
    return getattr(import_module(module_name), attribute)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        "citizen_portal",
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _configure(app, overrides or {})
    _init_extensions(app)
    for module_name in MODEL_MODULES:
        import_module(module_name)
    for target in BLUEPRINTS:
        app.register_blueprint(_load(target))
    for target in CLI_GROUPS:
        app.cli.add_command(_load(target))
    for target in JOB_REGISTRATIONS:
        _load(target)(app)
    errors.register_error_handlers(app)
    logs.init_app(app)
    return app


def _configure(app: Flask, overrides: dict[str, Any]) -> None:
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment())
    app.config.update(overrides)
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.ensure_secret_key(instance)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = config.sqlite_url(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        # engine creation is lazy in SQLAlchemy: this opens no connection
        database.configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    i18n.init_app(app)
    captcha.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    assert babel  # initialised by i18n.init_app
