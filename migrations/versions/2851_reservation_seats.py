"""fair access: a reserved time counts its seats (one per cancelled appointment at that time), so two
staff members' freed appointments at 09:00 are two offers, not one

Revision ID: 2851_reservation_seats
Revises: 2705_merge_fair
Create Date: 2026-12-07 18:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "2851_reservation_seats"
down_revision = "2705_merge_fair"
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN (no batch copy on SQLite: the table's slot-version triggers stay)
    op.add_column("booking_reservations", sa.Column("seats", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("booking_reservations") as batch:
        batch.drop_column("seats")
