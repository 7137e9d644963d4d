"""Migrations: on an empty database, ``upgrade heads`` yields exactly the models' schema, and
``downgrade base`` removes every table again. Runs on the suite's database kind (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from citizen_portal.core.extensions import db
from tests.factories import build_app
from tests.fixtures.database import MIGRATIONS, _create_pg_database, database_kind

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    if database_kind() == "postgresql":
        server = request.getfixturevalue("postgres_server")
        return _create_pg_database(server, f"portal_migr_{uuid.uuid4().hex[:10]}")
    return f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def _describe(diff) -> str:
    if isinstance(diff, list):  # column-level changes come as a list of tuples
        return "; ".join(_describe(item) for item in diff)
    kind, *rest = diff
    names = []
    for part in rest:
        name = getattr(part, "name", None)
        table = getattr(getattr(part, "table", None), "name", None)
        names.append(f"{table}.{name}" if table and name else str(name if name else part))
    return f"{kind}: {', '.join(names)}"


def test_upgrade_heads_matches_models_and_downgrade_base_removes_everything(empty_database_url, tmp_path: Path):
    app = build_app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": False})
            diffs = compare_metadata(context, db.metadata)
        assert not diffs, ("the migrations differ from the models (write or fix a migration):\n  "
                           + "\n  ".join(_describe(diff) for diff in diffs))

        downgrade(directory=MIGRATIONS, revision="base")
        with db.engine.connect() as connection:
            left = sorted(set(inspect(connection).get_table_names()) - {"alembic_version"})
        assert left == [], f"downgrade to base left tables behind: {left}"
        db.engine.dispose()


def test_every_area_branch_starts_at_core():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    script = ScriptDirectory.from_config(config)
    bases = script.get_bases()
    assert bases == ["0001_core"], f"only 0001_core may start from nothing, found {bases}"
    for revision in script.walk_revisions():
        if revision._orig_branch_labels and revision.revision != "0001_core":
            assert revision.down_revision == "0001_core", (
                f"branch {revision.branch_labels} must start with down_revision = '0001_core'")


def _script_directory():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return ScriptDirectory.from_config(config)


def test_the_area_branches_meet_in_one_head():
    heads = _script_directory().get_heads()
    assert len(heads) == 1, (f"more than one head {sorted(heads)}: plain `flask db upgrade` (what operators, "
                             "deployment scripts and Helm charts run) would fail; join them with "
                             "`flask db merge heads -m 'merge areas'`")


def _flask_db_upgrade(database_url: str, instance: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(instance),
           "FLASK_APP": "citizen_portal.app:create_app"}
    return subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def _current_revisions(database_url: str, tmp_path: Path) -> set[str]:
    app = build_app(database_url, tmp_path)
    with app.app_context(), db.engine.connect() as connection:
        revisions = set(MigrationContext.configure(connection).get_current_heads())
    with app.app_context():
        db.engine.dispose()
    return revisions


def test_plain_flask_db_upgrade_works_on_a_fresh_database(empty_database_url, tmp_path: Path):
    result = _flask_db_upgrade(empty_database_url, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _current_revisions(empty_database_url, tmp_path) == set(_script_directory().get_heads())


def test_plain_flask_db_upgrade_works_on_a_database_at_the_old_area_heads(empty_database_url, tmp_path: Path):
    """A database migrated before the areas were merged (``upgrade heads``, one version row per area)."""
    script = _script_directory()
    merge_points = [rev for rev in script.walk_revisions() if rev.is_merge_point]
    area_heads = sorted(merge_points[-1].down_revision) if merge_points else []
    assert len(area_heads) >= 4, "expected a merge revision joining the four area branches"
    app = build_app(empty_database_url, tmp_path)
    with app.app_context():
        for head in area_heads:
            upgrade(directory=MIGRATIONS, revision=head)
        db.engine.dispose()
    assert _current_revisions(empty_database_url, tmp_path) == set(area_heads)

    result = _flask_db_upgrade(empty_database_url, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _current_revisions(empty_database_url, tmp_path) == set(script.get_heads())
