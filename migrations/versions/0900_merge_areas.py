"""merge the area branches into one head, so plain ``flask db upgrade`` works

Revision ID: 0900_merge_areas
Revises: 0101_calendar_mirror, 0202_booking_slot_version, 0301_spaces_bookings, 0402_polls_tallies
Create Date: 2026-11-25

Each area keeps its own chain (``calendar``, ``booking``, ``spaces``, ``polls``); this revision only
joins their heads. After adding a revision to an area, run ``flask db merge heads -m "merge areas"``
(``tests/test_migrations.py`` fails while more than one head exists).
"""

revision = "0900_merge_areas"
down_revision = ("0101_calendar_mirror", "0202_booking_slot_version", "0301_spaces_bookings", "0402_polls_tallies")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
