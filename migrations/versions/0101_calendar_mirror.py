"""calendar: busy-time mirror, sync state, outbox, worker heartbeat

Revision ID: 0101_calendar_mirror
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import citizen_portal.core.database


revision = '0101_calendar_mirror'
down_revision = '0001_core'
branch_labels = ('calendar',)
depends_on = None


def upgrade():
    op.create_table('calendar_sync_states',
    sa.Column('calendar_key', sa.String(length=100), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('sync_token', sa.String(length=500), nullable=True),
    sa.Column('window_start', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('window_end', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_warning', sa.String(length=500), nullable=True),
    sa.Column('reachable_checked_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reachable', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['calendar_key'], ['calendar_links.key'], name=op.f('fk_calendar_sync_states_calendar_key_calendar_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('calendar_key', name=op.f('pk_calendar_sync_states'))
    )
    op.create_table('calendar_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_key', sa.String(length=100), nullable=False),
    sa.Column('href', sa.String(length=1000), nullable=False),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('uid', sa.String(length=500), nullable=True),
    sa.Column('own', sa.Boolean(), nullable=False),
    sa.Column('data', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['calendar_key'], ['calendar_links.key'], name=op.f('fk_calendar_objects_calendar_key_calendar_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_objects')),
    sa.UniqueConstraint('calendar_key', 'href', name=op.f('uq_calendar_objects_calendar_key_href'))
    )
    op.create_index(op.f('ix_calendar_objects_calendar_key'), 'calendar_objects', ['calendar_key'], unique=False)
    op.create_table('calendar_busy_intervals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_key', sa.String(length=100), nullable=False),
    sa.Column('href', sa.String(length=1000), nullable=False),
    sa.Column('start', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_key'], ['calendar_links.key'], name=op.f('fk_calendar_busy_intervals_calendar_key_calendar_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_busy_intervals'))
    )
    op.create_index('ix_calendar_busy_intervals_key_start', 'calendar_busy_intervals', ['calendar_key', 'start'], unique=False)
    op.create_table('calendar_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_key', sa.String(length=100), nullable=False),
    sa.Column('uid', sa.String(length=500), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('href', sa.String(length=1000), nullable=True),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('delivered_payload', sa.JSON(), nullable=True),
    sa.Column('created_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_outbox')),
    sa.UniqueConstraint('calendar_key', 'uid', name=op.f('uq_calendar_outbox_calendar_key_uid'))
    )
    op.create_index('ix_calendar_outbox_state_next', 'calendar_outbox', ['state', 'next_attempt_at'], unique=False)
    op.create_table('calendar_worker_heartbeats',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('beat_at', citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('info', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_calendar_worker_heartbeats'))
    )


def downgrade():
    op.drop_table('calendar_worker_heartbeats')
    op.drop_index('ix_calendar_outbox_state_next', table_name='calendar_outbox')
    op.drop_table('calendar_outbox')
    op.drop_index('ix_calendar_busy_intervals_key_start', table_name='calendar_busy_intervals')
    op.drop_table('calendar_busy_intervals')
    op.drop_index(op.f('ix_calendar_objects_calendar_key'), table_name='calendar_objects')
    op.drop_table('calendar_objects')
    op.drop_table('calendar_sync_states')
