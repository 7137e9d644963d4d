"""booking: appointments.calendar_uid (random calendar UIDs; issue 17.6)

Appointments made before this revision keep NULL, so their events keep the UID
``appointment-<id>@…`` already in staff and citizen calendars; new ones get a random part.

Revision ID: 2601_appointment_calendar_uid
Revises: 1907_merge_graph
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "2601_appointment_calendar_uid"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("calendar_uid", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("calendar_uid")
