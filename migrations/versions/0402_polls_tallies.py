"""polls: sharded counters (poll_tallies) instead of per-row counters; poll revision

Revision ID: 0402_polls_tallies
Revises: 0401_polls
Create Date: 2026-11-23 09:00:00

The counters polls.ballot_count, poll_questions.answered and poll_options.votes move into
poll_tallies (shard 0); polls.revision is a random value that changes with every edit.
Columns are dropped with a plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), never by
recreating a table: recreating ``polls`` on SQLite would cascade-delete its children.
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0402_polls_tallies'
down_revision = '0401_polls'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'poll_tallies',
        sa.Column('poll_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('ref', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_tallies_poll_id_polls'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('poll_id', 'kind', 'ref', 'shard', name=op.f('pk_poll_tallies')),
        sqlite_with_rowid=False,
    )
    op.add_column('polls', sa.Column('revision', sa.String(length=32), nullable=False, server_default='0'))
    connection = op.get_bind()
    for (poll_id,) in connection.execute(sa.text('SELECT id FROM polls')).all():
        connection.execute(sa.text('UPDATE polls SET revision = :r WHERE id = :id'),
                           {'r': uuid.uuid4().hex, 'id': poll_id})
    op.execute('INSERT INTO poll_tallies (poll_id, kind, ref, shard, n) '
               'SELECT id, 0, 0, 0, ballot_count FROM polls WHERE ballot_count > 0')
    op.execute('INSERT INTO poll_tallies (poll_id, kind, ref, shard, n) '
               'SELECT poll_id, 1, id, 0, answered FROM poll_questions WHERE answered > 0')
    op.execute('INSERT INTO poll_tallies (poll_id, kind, ref, shard, n) '
               'SELECT q.poll_id, 2, o.id, 0, o.votes FROM poll_options o '
               'JOIN poll_questions q ON q.id = o.question_id WHERE o.votes > 0')
    for table, column in (('polls', 'ballot_count'), ('poll_questions', 'answered'), ('poll_options', 'votes')):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')


def downgrade():
    op.add_column('polls', sa.Column('ballot_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('poll_questions', sa.Column('answered', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('poll_options', sa.Column('votes', sa.Integer(), nullable=False, server_default='0'))
    op.execute('UPDATE polls SET ballot_count = COALESCE((SELECT SUM(t.n) FROM poll_tallies t '
               'WHERE t.poll_id = polls.id AND t.kind = 0), 0)')
    op.execute('UPDATE poll_questions SET answered = COALESCE((SELECT SUM(t.n) FROM poll_tallies t '
               'WHERE t.poll_id = poll_questions.poll_id AND t.kind = 1 AND t.ref = poll_questions.id), 0)')
    op.execute('UPDATE poll_options SET votes = COALESCE((SELECT SUM(t.n) FROM poll_tallies t '
               'WHERE t.kind = 2 AND t.ref = poll_options.id), 0)')
    op.execute('ALTER TABLE polls DROP COLUMN revision')
    op.drop_table('poll_tallies')
