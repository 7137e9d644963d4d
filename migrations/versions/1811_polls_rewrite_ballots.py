"""polls: rewrite the ballots cast before 1810 in random order (issue 18.1)

Revision ID: 1811_polls_rewrite_ballots
Revises: 1810_polls_pending_ballots
Create Date: 2026-12-07 04:30:00

Ballots cast before revision 1810 were written in cast order, each in the transaction of its
participation marker: PostgreSQL ``xmin``/``ctid`` and SQLite cell offsets link them to the
markers (the review of issue 18 linked every one). Poll by poll, this revision reads the ballots,
their choices and free-text answers, the receipts and the counters, deletes them and writes them
back, every table in its own random order, in this one transaction (SQLite with ``secure_delete``,
so the old cells are overwritten). Afterwards they share neither a transaction id nor an order
with any marker. Nothing to undo on downgrade. PostgreSQL keeps the old row versions as dead
tuples until (auto)vacuum: run ``VACUUM`` on the poll tables after the upgrade.
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '1811_polls_rewrite_ballots'
down_revision = '1810_polls_pending_ballots'
branch_labels = None
depends_on = None

# (table, columns, the condition selecting one poll's rows), parents before children
TABLES = (
    ("poll_ballots", ("id", "poll_id"), "poll_id = :poll"),
    ("poll_ballot_choices", ("ballot_id", "option_id"),
     "ballot_id IN (SELECT id FROM poll_ballots WHERE poll_id = :poll)"),
    ("poll_text_answers", ("id", "ballot_id", "question_id", "text", "moderation"),
     "ballot_id IN (SELECT id FROM poll_ballots WHERE poll_id = :poll)"),
    ("poll_receipts", ("receipt_hash", "poll_id"), "poll_id = :poll"),
    ("poll_tallies", ("poll_id", "kind", "ref", "shard", "n"), "poll_id = :poll"),
)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA secure_delete = ON")
    chooser = secrets.SystemRandom()
    poll_ids = [row[0] for row in bind.execute(sa.text("SELECT DISTINCT poll_id FROM poll_ballots"))]
    for poll_id in poll_ids:
        saved = {}
        for table, columns, condition in TABLES:
            query = sa.text(f"SELECT {', '.join(columns)} FROM {table} WHERE {condition}")
            saved[table] = [dict(row._mapping) for row in bind.execute(query, {"poll": poll_id})]
        for table, _columns, condition in reversed(TABLES):  # children first
            bind.execute(sa.text(f"DELETE FROM {table} WHERE {condition}"), {"poll": poll_id})
        for table, columns, _condition in TABLES:
            rows = saved[table]
            chooser.shuffle(rows)
            if rows:
                statement = sa.text(f"INSERT INTO {table} ({', '.join(columns)}) "
                                    f"VALUES ({', '.join(':' + c for c in columns)})")
                bind.execute(statement, rows)


def downgrade():
    pass
