"""merge the Graph events (issue 12) and the API clients (issue 11)

Revision ID: 1202_merge_graph_api_clients
Revises: 1201_graph_events, 1120_api_clients
Create Date: 2026-12-07
"""

revision = "1202_merge_graph_api_clients"
down_revision = ("1201_graph_events", "1120_api_clients")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
