"""merge heads: 2602_poll_min_ballots_live 2703_merge_perf

Revision ID: 2704_merge_uxstaff
Revises: 2602_poll_min_ballots_live, 2703_merge_perf
Create Date: 2026-12-07 15:26:48
"""

revision = "2704_merge_uxstaff"
down_revision = ("2602_poll_min_ballots_live","2703_merge_perf")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
