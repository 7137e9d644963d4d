"""calendar: events written through the Graph API and the state of calendarView delta rounds

Revision ID: 1201_graph_events
Revises: 0911_merge_core_calendar
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from citizen_portal.core.database import UTCDateTime

revision = '1201_graph_events'
down_revision = '0911_merge_core_calendar'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'graph_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('calendar_key', sa.String(length=100), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('uid', sa.String(length=500), nullable=False),
        sa.Column('transaction_id', sa.String(length=200), nullable=True),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('body_type', sa.String(length=8), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('location', sa.String(length=255), nullable=True),
        sa.Column('attendees', sa.JSON(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('show_as', sa.String(length=20), nullable=False),
        sa.Column('sensitivity', sa.String(length=20), nullable=False),
        sa.Column('importance', sa.String(length=10), nullable=False),
        sa.Column('start_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('end_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('time_zone', sa.String(length=100), nullable=False),
        sa.Column('is_cancelled', sa.Boolean(), nullable=False),
        sa.Column('change_key', sa.String(length=40), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uid'),
        sa.UniqueConstraint('calendar_key', 'transaction_id'),
    )
    op.create_index('ix_graph_events_calendar_key', 'graph_events', ['calendar_key'])
    op.create_index('ix_graph_events_owner', 'graph_events', ['owner'])
    op.create_table(
        'graph_delta_states',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('mailbox_id', sa.String(length=120), nullable=False),
        sa.Column('window_start', UTCDateTime(timezone=True), nullable=False),
        sa.Column('window_end', UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token'),
    )
    op.create_index('ix_graph_delta_states_created_at', 'graph_delta_states', ['created_at'])


def downgrade():
    op.drop_index('ix_graph_delta_states_created_at', table_name='graph_delta_states')
    op.drop_table('graph_delta_states')
    op.drop_index('ix_graph_events_owner', table_name='graph_events')
    op.drop_index('ix_graph_events_calendar_key', table_name='graph_events')
    op.drop_table('graph_events')
