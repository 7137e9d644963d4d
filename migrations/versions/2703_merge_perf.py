"""merge heads: 2201_booking_staff_day_versions 2702_merge_graph

Revision ID: 2703_merge_perf
Revises: 2201_booking_staff_day_versions, 2702_merge_graph
Create Date: 2026-12-07 15:18:45
"""

revision = "2703_merge_perf"
down_revision = ("2201_booking_staff_day_versions","2702_merge_graph")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
