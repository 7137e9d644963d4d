"""core: mail_outbox (mail is queued and delivered with retries, never lost after a commit)

Revision ID: 0903_mail_outbox
Revises: 0902_user_session_generation
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "0903_mail_outbox"
down_revision = "0902_user_session_generation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index("ix_mail_outbox_state_next", "mail_outbox", ["state", "next_attempt_at"], unique=False)


def downgrade():
    op.drop_index("ix_mail_outbox_state_next", table_name="mail_outbox")
    op.drop_table("mail_outbox")
