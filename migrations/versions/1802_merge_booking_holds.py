"""merge the booking chain (hold limits) with the rest

Revision ID: 1802_merge_booking_holds
Revises: 0911_merge_core_calendar, 1801_booking_hold_limits
Create Date: 2026-12-07
"""

revision = "1802_merge_booking_holds"
down_revision = ("0911_merge_core_calendar", "1801_booking_hold_limits")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
