"""core: users.session_generation (logout and a new password end every session of the user)

Revision ID: 0902_user_session_generation
Revises: 0901_worker_heartbeats
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0902_user_session_generation"
down_revision = "0901_worker_heartbeats"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
