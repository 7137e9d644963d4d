"""merge heads: 1820_api_token_expiry 1901_merge_polls_production

Revision ID: 1902_merge_inputs
Revises: 1820_api_token_expiry, 1901_merge_polls_production
Create Date: 2026-12-07 04:45:49
"""

revision = "1902_merge_inputs"
down_revision = ("1820_api_token_expiry","1901_merge_polls_production")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
