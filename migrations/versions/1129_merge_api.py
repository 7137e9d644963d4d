"""merge the API's two core revisions (idempotency keys, API clients and webhooks)

Revision ID: 1129_merge_api
Revises: 1101_api_idempotency_keys, 1120_api_clients
Create Date: 2026-12-07
"""

revision = "1129_merge_api"
down_revision = ("1101_api_idempotency_keys", "1120_api_clients")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
