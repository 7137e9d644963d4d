"""core: the one worker's heartbeats (worker_heartbeats) replace calendar_worker_heartbeats

Revision ID: 0901_worker_heartbeats
Revises: 0900_merge_areas
Create Date: 2026-11-25

The worker moved from the calendar bridge into the platform core (``flask worker``). Heartbeats are
rewritten after every worker round, so the old rows are not carried over.
"""
import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "0901_worker_heartbeats"
down_revision = "0900_merge_areas"
branch_labels = None
depends_on = None


def _heartbeats(name: str) -> None:
    op.create_table(
        name,
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("beat_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f(f"pk_{name}")),
    )


def upgrade():
    op.drop_table("calendar_worker_heartbeats")
    _heartbeats("worker_heartbeats")


def downgrade():
    op.drop_table("worker_heartbeats")
    _heartbeats("calendar_worker_heartbeats")
