"""The application factory: a table of contents of the platform.

``create_app`` only wires things together: it does no network and no database work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from citizen_portal.core import (
    access,
    after_response,
    bodies,
    captcha,
    config,
    database,
    errors,
    graph,
    headers,
    i18n,
    logs,
    mail,
    metrics,
    schemas,
    static_files,
    webhooks,
    worker,
)
from citizen_portal.core.extensions import babel, csrf, db, limiter, login_manager, migrate
from citizen_portal.core.portal_flask import PortalFlask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, then every package's models, blueprints, CLI groups,
    periodic jobs and health checks, listed here explicitly (this is the one module that imports them)."""
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = PortalFlask(
        "citizen_portal",
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # typed input before any route exists: ids in paths stay within a database id, JSON has a depth limit
    app.url_map.converters["int"] = schemas.IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = schemas.TextConverter
    app.json = schemas.JSONProvider(app)
    _configure(app, overrides or {})
    _init_extensions(app)
    graph.init_app(app)
    _register_packages(app)
    errors.register_error_handlers(app)
    logs.init_app(app)
    headers.init_app(app)
    static_files.init_app(app)
    bodies.init_app(app)
    after_response.init_app(app)
    mail.init_app(app)
    webhooks.init_app(app)
    worker.init_app(app)
    metrics.init_app(app)
    return app


def _register_packages(app: Flask) -> None:
    # models: every table is known to SQLAlchemy (and to Alembic's autogenerate) before the first request
    import staff_calendar.calendars.models
    import staff_calendar.spaces.models  # noqa: F401

    # the platform core and the app shell
    from citizen_portal.auth import cli as auth_cli
    from citizen_portal.auth import oidc as auth_oidc
    from citizen_portal.auth import views as auth_views
    from citizen_portal.core import api, openapi
    from citizen_portal.core import cli as core_cli
    from citizen_portal.core import graph_api as core_graph_api
    from citizen_portal.pages import views as pages_views
    from citizen_portal.site import cli as site_cli

    app.register_blueprint(pages_views.bp)
    app.register_blueprint(auth_views.bp)
    auth_oidc.init_app(app)
    app.register_blueprint(openapi.bp)  # /api/v1/openapi.json and /docs: every package's operations
    api.init_app(app)  # rate-limit fields on API answers
    app.register_blueprint(core_graph_api.bp)
    app.cli.add_command(core_cli.translate_cli)
    app.cli.add_command(core_cli.config_cli)
    app.cli.add_command(core_cli.worker_command)
    app.cli.add_command(auth_cli.users_cli)
    app.cli.add_command(site_cli.site_cli)

    # other software: API clients, the OAuth token endpoint, webhooks (citizen_portal.integrations)
    from citizen_portal.integrations import admin_views as integrations_admin_views
    from citizen_portal.integrations import api as integrations_api
    from citizen_portal.integrations import cli as integrations_cli
    from citizen_portal.integrations import views as integrations_views

    app.register_blueprint(integrations_views.bp)
    app.register_blueprint(integrations_admin_views.bp)
    app.register_blueprint(integrations_api.bp)
    app.cli.add_command(integrations_cli.api_clients_cli)

    # appointments (citizen_portal.booking)
    from citizen_portal.booking import admin_views as booking_admin_views
    from citizen_portal.booking import api as booking_api
    from citizen_portal.booking import cli as booking_cli
    from citizen_portal.booking import graph_api as booking_graph_api
    from citizen_portal.booking import jobs as booking_jobs
    from citizen_portal.booking import recovery_views as booking_recovery_views
    from citizen_portal.booking import staff_views as booking_staff_views
    from citizen_portal.booking import views as booking_views
    from citizen_portal.booking.fairness import api as fairness_api
    from citizen_portal.booking.fairness import jobs as fairness_jobs
    from citizen_portal.booking.fairness import staff_views as fairness_staff_views
    from citizen_portal.booking.fairness import views as fairness_views

    app.register_blueprint(booking_views.bp)
    app.register_blueprint(booking_recovery_views.bp)
    app.register_blueprint(fairness_views.bp)
    app.register_blueprint(fairness_staff_views.bp)
    app.register_blueprint(booking_staff_views.bp)
    app.register_blueprint(booking_admin_views.bp)
    app.register_blueprint(booking_api.bp)
    app.register_blueprint(fairness_api.bp)
    app.register_blueprint(booking_graph_api.bp)
    app.cli.add_command(booking_cli.booking_cli)
    booking_jobs.register(app)
    fairness_jobs.register(app)

    # staff calendars (CalDAV) and desks and rooms (staff_calendar)
    from staff_calendar import graph_api as calendar_graph_api
    from staff_calendar import services as calendar_services
    from staff_calendar.calendars import cli as calendar_cli
    from staff_calendar.calendars import jobs as calendar_jobs
    from staff_calendar.spaces import admin_views as spaces_admin_views
    from staff_calendar.spaces import api as spaces_api
    from staff_calendar.spaces import cli as spaces_cli
    from staff_calendar.spaces import graph_api as spaces_graph_api
    from staff_calendar.spaces import jobs as spaces_jobs
    from staff_calendar.spaces import public_admin_views as public_rooms_admin_views
    from staff_calendar.spaces import public_api as public_rooms_api
    from staff_calendar.spaces import public_views as public_rooms_views
    from staff_calendar.spaces import views as spaces_views

    app.register_blueprint(spaces_views.bp)
    app.register_blueprint(spaces_admin_views.bp)
    app.register_blueprint(spaces_api.bp)
    app.register_blueprint(public_rooms_views.bp)
    app.register_blueprint(public_rooms_admin_views.bp)
    app.register_blueprint(public_rooms_api.bp)
    app.register_blueprint(calendar_graph_api.bp)
    app.register_blueprint(spaces_graph_api.bp)
    app.cli.add_command(calendar_cli.staff_calendar_cli)
    app.cli.add_command(spaces_cli.spaces_cli)
    calendar_jobs.register(app)
    spaces_jobs.register(app)
    mail.register_attachment_builder(app, "itip", calendar_services.itip_attachment)  # booking's .ics

    # polls and suggestions (polls)
    from polls import admin_views as polls_admin_views
    from polls import api as polls_api
    from polls import cli as polls_cli
    from polls import jobs as polls_jobs
    from polls import views as polls_views

    app.register_blueprint(polls_views.bp)
    app.register_blueprint(polls_admin_views.bp)
    app.register_blueprint(polls_api.bp)
    app.cli.add_command(polls_cli.polls_cli)
    polls_jobs.register(app)


def _configure(app: Flask, overrides: dict[str, Any]) -> None:
    app.config.update(config.DEFAULTS)
    app.config.update(config.FIXED)
    app.config.update(config.from_environment())
    app.config.update(overrides)
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.ensure_secret_key(instance)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = config.sqlite_url(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        # engine creation is lazy in SQLAlchemy: this opens no connection
        database.configure_engine(db.engine, float(app.config["LOCK_TIMEOUT_SECONDS"]))
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    i18n.init_app(app)
    captcha.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    access.init_app(app)
    limiter.init_app(app)
    assert babel  # initialised by i18n.init_app
