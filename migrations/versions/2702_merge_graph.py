"""merge heads: 2103_graph_recurring_events 2701_merge_citizen_rooms

Revision ID: 2702_merge_graph
Revises: 2103_graph_recurring_events, 2701_merge_citizen_rooms
Create Date: 2026-12-07 15:18:41
"""

revision = "2702_merge_graph"
down_revision = ("2103_graph_recurring_events","2701_merge_citizen_rooms")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
