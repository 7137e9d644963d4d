"""core: api_idempotency_keys (the first answer to a POST with an Idempotency-Key, replayed for 24 h)

Revision ID: 1101_api_idempotency_keys
Revises: 0911_merge_core_calendar
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "1101_api_idempotency_keys"
down_revision = "0911_merge_core_calendar"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_keys")),
        sa.UniqueConstraint("principal", "key", name=op.f("uq_api_idempotency_keys_principal_key")),
    )
    op.create_index(op.f("ix_api_idempotency_keys_created_at"), "api_idempotency_keys", ["created_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_api_idempotency_keys_created_at"), table_name="api_idempotency_keys")
    op.drop_table("api_idempotency_keys")
