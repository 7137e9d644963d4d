"""merge heads: 2401_public_rooms 2501_citizen_info

Revision ID: 2701_merge_citizen_rooms
Revises: 2401_public_rooms, 2501_citizen_info
Create Date: 2026-12-07 15:18:16
"""

revision = "2701_merge_citizen_rooms"
down_revision = ("2401_public_rooms","2501_citizen_info")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
