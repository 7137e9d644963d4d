"""spaces: the index of desk bookings by day also holds their creation time, so the desk availability
answer's fingerprint (count, highest id and newest creation of a day's bookings) is read from the
index alone (issue 13)

Revision ID: 2910_spaces_desk_day_created
Revises: 2903_mail_outbox_parts
Create Date: 2026-12-08 01:00:00

``ix_desk_bookings_day_created (day, created_at)`` beside ``ix_desk_bookings_day (day)`` (whose
entries end in the row id: ``max(id)`` of a day stays one index probe): ``max(created_at)`` of a day no
longer reads each booking's row.
"""

from alembic import op

revision = "2910_spaces_desk_day_created"
down_revision = "2903_mail_outbox_parts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_desk_bookings_day_created", "desk_bookings", ["day", "created_at"])


def downgrade():
    op.drop_index("ix_desk_bookings_day_created", table_name="desk_bookings")
