"""merge the core chain (worker heartbeats, session generations, mail outbox) and the minimal mirror

Revision ID: 0911_merge_core_calendar
Revises: 0903_mail_outbox, 0910_merge_calendar_minimal
Create Date: 2026-11-26
"""

revision = "0911_merge_core_calendar"
down_revision = ("0903_mail_outbox", "0910_merge_calendar_minimal")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
