"""merge heads: 1402_request_ids 1819_merge_polls_secrecy

Revision ID: 1901_merge_polls_production
Revises: 1402_request_ids, 1819_merge_polls_secrecy
Create Date: 2026-12-07 04:30:19
"""

revision = "1901_merge_polls_production"
down_revision = ("1402_request_ids","1819_merge_polls_secrecy")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
