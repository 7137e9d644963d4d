"""locations.info and services.info: what citizens need to know (phone, step-free access, fees, ...)

Revision ID: 2501_citizen_info
Revises: 1907_merge_graph
Create Date: 2026-12-07 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "2501_citizen_info"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("info", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("info", sa.JSON(), nullable=False, server_default="{}"))


def downgrade():
    with op.batch_alter_table("services") as batch:
        batch.drop_column("info")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("info")
