"""merge heads: 2301_fairness 2704_merge_uxstaff

Revision ID: 2705_merge_fair
Revises: 2301_fairness, 2704_merge_uxstaff
Create Date: 2026-12-07 15:39:26
"""

revision = "2705_merge_fair"
down_revision = ("2301_fairness","2704_merge_uxstaff")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
