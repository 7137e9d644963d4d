"""fair access: when the last link mail went to a waiting-list entry or a release request, so asking
again within a few minutes sends no further mail (nobody can flood a mailbox or the mail queue)

Revision ID: 2852_fair_link_sent_at
Revises: 2851_reservation_seats
Create Date: 2026-12-07 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "2852_fair_link_sent_at"
down_revision = "2851_reservation_seats"
branch_labels = None
depends_on = None

TABLES = ("waiting_list_entries", "release_requests")


def upgrade():
    for table in TABLES:  # plain ADD COLUMN: no batch copy on SQLite
        op.add_column(table, sa.Column("link_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("link_sent_at")
