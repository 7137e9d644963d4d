"""core: job_leases (a periodic job runs once per period across every worker process)

Revision ID: 1401_job_leases
Revises: 0911_merge_core_calendar
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "1401_job_leases"
down_revision = "0911_merge_core_calendar"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("due_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("leased_until", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("last_started_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )


def downgrade():
    op.drop_table("job_leases")
