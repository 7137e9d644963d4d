"""Suite-wide fixtures: the app built by migrations, a rolled-back transaction per test.

More fixtures live in ``tests/fixtures/`` (CalDAV servers, SMTP sink, browser, axe) and are
loaded as plugins below. Factories for test data: ``tests/factories.py``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import scoped_session, sessionmaker

os.environ.setdefault("PORTAL_INSTANCE_PATH", "/tmp/portal-test-instance")

from citizen_portal.app import create_app
from citizen_portal.core.extensions import db
from tests.fixtures.database import _create_pg_database, database_kind, make_test_config

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.browser",
    "tests.fixtures.mail",
    "tests.fixtures.caldav_servers",
    "tests.fixtures.redis_server",
    "tests.fixtures.oidc_provider",
    "tests.fixtures.webhook_receiver",
    "tests.fixtures.requirements",  # under CI=true every skip is a failure
    "pytester",
]


def pytest_report_header(config) -> str:
    return f"database: {database_kind()}"


def pytest_collection_modifyitems(config, items) -> None:
    """Tests that bring their own database (e.g. ``make run``'s script) run once, in the SQLite
    pass, and tests of a PostgreSQL-only behaviour (row locks SQLite does not have) run in the
    PostgreSQL pass; in the other pass they are deselected, so no skip hides anything."""
    other_pass = "sqlite_pass_only" if database_kind() == "postgresql" else "postgresql_only"
    selected = [item for item in items if item.get_closest_marker(other_pass) is None]
    deselected = [item for item in items if item.get_closest_marker(other_pass) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(autouse=True)
def _limiter_state() -> Iterator[None]:
    """flask-limiter keeps ``enabled`` and its storage on the one ``limiter`` object, and every
    ``create_app`` overwrites them: a test that builds an app with limits on must not switch them on
    for the apps of the tests after it."""
    from citizen_portal.core.extensions import limiter

    saved = {name: getattr(limiter, name) for name in ("enabled", "_storage", "_limiter") if hasattr(limiter, name)}
    yield
    for name, value in saved.items():
        setattr(limiter, name, value)


@pytest.fixture(scope="session")
def _app(request, migrated_template, tmp_path_factory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    # a copy of the template: PostgreSQL cannot copy a template database while it has connections
    if migrated_template.startswith("sqlite"):
        app_url = f"sqlite:///{instance / 'app.sqlite3'}"
        shutil.copy(migrated_template.removeprefix("sqlite:///"), app_url.removeprefix("sqlite:///"))
    else:
        app_url = _create_pg_database(request.getfixturevalue("postgres_server"), "portal_app",
                                      template="portal_template")
    app = create_app(make_test_config(app_url, instance))
    yield app
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)


@pytest.fixture
def app(_app: Flask) -> Iterator[Flask]:
    """The app with every database write of the test rolled back afterwards."""
    with _app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original_session = db.session
        # Flask-SQLAlchemy's own session picks engines per model and would ignore ``bind``
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _app
        finally:
            db.session.remove()
            db.session = original_session
            transaction.rollback()
            connection.close()
