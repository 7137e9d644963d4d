"""merge heads: 1101_api_idempotency_keys 1904_merge_production_sso

Revision ID: 1905_merge_api_registry
Revises: 1101_api_idempotency_keys, 1904_merge_production_sso
Create Date: 2026-12-07 05:27:01
"""

revision = "1905_merge_api_registry"
down_revision = ("1101_api_idempotency_keys","1904_merge_production_sso")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
