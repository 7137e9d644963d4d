"""polls: polls.min_ballots_live (live results only from 10 ballots on; issue 17.7)

Revision ID: 2602_poll_min_ballots_live
Revises: 2601_appointment_calendar_uid
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "2602_poll_min_ballots_live"
down_revision = "2601_appointment_calendar_uid"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("min_ballots_live", sa.Integer(), nullable=False, server_default="10"))


def downgrade():
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("min_ballots_live")
