"""calendar: all-day events written through the Graph API

Revision ID: 2102_graph_all_day_events
Revises: 2101_graph_subscriptions
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "2102_graph_all_day_events"
down_revision = "2101_graph_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("graph_events") as batch:
        batch.add_column(sa.Column("is_all_day", sa.Boolean(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("graph_events") as batch:
        batch.drop_column("is_all_day")
