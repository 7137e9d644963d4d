"""merge heads: 1802_merge_booking_holds 1902_merge_inputs

Revision ID: 1903_merge_booking_holds
Revises: 1802_merge_booking_holds, 1902_merge_inputs
Create Date: 2026-12-07 04:46:23
"""

revision = "1903_merge_booking_holds"
down_revision = ("1802_merge_booking_holds","1902_merge_inputs")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
