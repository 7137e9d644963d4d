"""merge heads: 1202_merge_graph_api_clients 1906_merge_api_clients

Revision ID: 1907_merge_graph
Revises: 1202_merge_graph_api_clients, 1906_merge_api_clients
Create Date: 2026-12-07 05:55:08
"""

revision = "1907_merge_graph"
down_revision = ("1202_merge_graph_api_clients","1906_merge_api_clients")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
