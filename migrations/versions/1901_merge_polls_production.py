"""merge heads: 1402_request_ids 1811_merge_polls_pending

Revision ID: 1901_merge_polls_production
Revises: 1402_request_ids, 1811_merge_polls_pending
Create Date: 2026-12-07 04:30:19
"""

revision = "1901_merge_polls_production"
down_revision = ("1402_request_ids","1811_merge_polls_pending")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
