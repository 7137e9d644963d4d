"""merge heads: 1129_merge_api 1905_merge_api_registry

Revision ID: 1906_merge_api_clients
Revises: 1129_merge_api, 1905_merge_api_registry
Create Date: 2026-12-07 05:49:42
"""

revision = "1906_merge_api_clients"
down_revision = ("1129_merge_api","1905_merge_api_registry")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
