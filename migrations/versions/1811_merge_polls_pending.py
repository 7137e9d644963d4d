"""merge the polls chain (pending ballots) with the other areas

Revision ID: 1811_merge_polls_pending
Revises: 0911_merge_core_calendar, 1810_polls_pending_ballots
Create Date: 2026-12-07 04:30:00
"""

revision = "1811_merge_polls_pending"
down_revision = ("0911_merge_core_calendar", "1810_polls_pending_ballots")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
