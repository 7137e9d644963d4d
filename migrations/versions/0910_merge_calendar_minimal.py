"""merge areas: the calendar chain's 0102_calendar_minimal_mirror joins the merged heads

Revision ID: 0910_merge_calendar_minimal
Revises: 0102_calendar_minimal_mirror, 0900_merge_areas
Create Date: 2026-11-25 20:27:08

Made with ``flask db merge heads -m "merge areas"``; it only joins the heads, so plain
``flask db upgrade`` keeps working.
"""

revision = '0910_merge_calendar_minimal'
down_revision = ('0102_calendar_minimal_mirror', '0900_merge_areas')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
