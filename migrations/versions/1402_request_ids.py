"""core: request ids on the mail and calendar outbox rows (the worker logs a delivery under the id of
the request that queued it)

Revision ID: 1402_request_ids
Revises: 1401_job_leases
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "1402_request_ids"
down_revision = "1401_job_leases"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("calendar_outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("calendar_outbox") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("request_id")
