"""merge the polls chain (pending ballots, rewritten old ballots) with the other areas

Revision ID: 1819_merge_polls_secrecy
Revises: 0911_merge_core_calendar, 1811_polls_rewrite_ballots
Create Date: 2026-12-07 04:30:00
"""

revision = "1819_merge_polls_secrecy"
down_revision = ("0911_merge_core_calendar", "1811_polls_rewrite_ballots")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
