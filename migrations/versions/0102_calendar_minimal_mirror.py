"""calendar: the mirror keeps only what a feature needs; warnings per object

Revision ID: 0102_calendar_minimal_mirror
Revises: 0101_calendar_mirror
Create Date: 2026-11-25

``calendar_objects`` held whole remote events, private descriptions and our own events' citizen
data included. From now on the mirror stores only ``minimal.keep`` of an object. Upgrading deletes
every stored object and resets each calendar's sync token and window start, so the next sync
fetches everything again and keeps only the allowed part; the busy intervals and the window end
stay, so slots are offered as before until then. ``calendar_objects.warning`` records capped or
unreadable objects; ``calendar_sync_states.last_warning`` (a count that the next incremental sync
forgot) goes. Downgrading cannot bring the deleted data back (the next sync fetches it again).
"""
import sqlalchemy as sa
from alembic import op

revision = '0102_calendar_minimal_mirror'
down_revision = '0101_calendar_mirror'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('DELETE FROM calendar_objects')
    op.execute('UPDATE calendar_sync_states SET sync_token = NULL, window_start = NULL')
    op.add_column('calendar_objects', sa.Column('warning', sa.String(length=300), nullable=True))
    op.execute('ALTER TABLE calendar_sync_states DROP COLUMN last_warning')


def downgrade():
    op.add_column('calendar_sync_states', sa.Column('last_warning', sa.String(length=500), nullable=True))
    op.execute('ALTER TABLE calendar_objects DROP COLUMN warning')
