"""polls: pending ballots (encrypted, written in shuffled batches; issue 18.1)

Revision ID: 1810_polls_pending_ballots
Revises: 0402_polls_tallies
Create Date: 2026-12-07 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '1810_polls_pending_ballots'
down_revision = '0402_polls_tallies'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'poll_pending_ballots',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('receipt_tag', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_poll_pending_ballots_poll_id', 'poll_pending_ballots', ['poll_id'])
    op.create_index('ix_poll_pending_ballots_receipt_tag', 'poll_pending_ballots', ['receipt_tag'])


def downgrade():
    op.drop_index('ix_poll_pending_ballots_receipt_tag', table_name='poll_pending_ballots')
    op.drop_index('ix_poll_pending_ballots_poll_id', table_name='poll_pending_ballots')
    op.drop_table('poll_pending_ballots')
