"""core: api_tokens.expires_at (API tokens expire; issue 18.12)

Tokens made before this revision get 90 days from the upgrade, so no client loses access at once.

Revision ID: 1820_api_token_expiry
Revises: 0911_merge_core_calendar
Create Date: 2026-12-07
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "1820_api_token_expiry"
down_revision = "0911_merge_core_calendar"
branch_labels = None
depends_on = None

GRACE = timedelta(days=90)


def upgrade():
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", citizen_portal.core.database.UTCDateTime(timezone=True),
                                   nullable=True))
    tokens = sa.table("api_tokens", sa.column("expires_at", citizen_portal.core.database.UTCDateTime(timezone=True)))
    op.get_bind().execute(tokens.update().values(expires_at=datetime.now(UTC) + GRACE))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=citizen_portal.core.database.UTCDateTime(timezone=True),
                           nullable=False)


def downgrade():
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
