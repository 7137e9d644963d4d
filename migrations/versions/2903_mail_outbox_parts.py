"""core: mail_outbox.parts, the parts the courier builds a queued mail from (text, header fields,
attachments or their specs), so the request that queues a mail no longer builds the MIME message
or the iTIP attachment (issue 13)

Revision ID: 2903_mail_outbox_parts
Revises: 2902_spaces_desk_input_notices
Create Date: 2026-12-08 01:00:00

Rows queued before keep their whole ``message`` and are delivered as they are.
"""

import sqlalchemy as sa
from alembic import op

revision = "2903_mail_outbox_parts"
down_revision = "2902_spaces_desk_input_notices"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("parts", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("parts")
