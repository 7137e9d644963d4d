"""calendar: recurring events written through the Graph API (the RRULE and Graph's recurrence as sent)

Revision ID: 2103_graph_recurring_events
Revises: 2102_graph_all_day_events
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "2103_graph_recurring_events"
down_revision = "2102_graph_all_day_events"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("graph_events") as batch:
        batch.add_column(sa.Column("rrule", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("recurrence", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("graph_events") as batch:
        batch.drop_column("recurrence")
        batch.drop_column("rrule")
