"""booking: session and client hashes of holds (hold limits), index on created_at (proof-of-work
load), e-mail hashes recomputed from the normalised address

Revision ID: 1801_booking_hold_limits
Revises: 0202_booking_slot_version
Create Date: 2026-12-07

See citizen_portal/booking/services/holds.py and citizen_portal/core/addresses.py. Plain ADD
COLUMN / CREATE INDEX (no batch copy on SQLite: it would drop the slot-version triggers).
"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "1801_booking_hold_limits"
down_revision = "0202_booking_slot_version"
branch_labels = None
depends_on = None


def _rehash_emails() -> None:
    """Active appointments count by the normalised address from now on: recompute their hashes."""
    from citizen_portal.core.addresses import AddressProblem, normalised_email

    key = current_app.config["SECRET_KEY"].encode()
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, email FROM appointments WHERE email IS NOT NULL AND erased_at IS NULL"))
    for row_id, email in rows.fetchall():
        try:
            text = normalised_email(email)
        except AddressProblem:
            text = email.strip().lower()
        digest = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        bind.execute(sa.text("UPDATE appointments SET email_hash = :digest WHERE id = :id"),
                     {"digest": digest, "id": row_id})


def upgrade():
    op.add_column("appointments", sa.Column("session_hash", sa.String(length=64), nullable=True))
    op.add_column("appointments", sa.Column("client_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_appointments_session_hash"), "appointments", ["session_hash"], unique=False)
    op.create_index(op.f("ix_appointments_client_hash"), "appointments", ["client_hash"], unique=False)
    op.create_index(op.f("ix_appointments_created_at"), "appointments", ["created_at"], unique=False)
    _rehash_emails()


def downgrade():
    op.drop_index(op.f("ix_appointments_created_at"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_client_hash"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_session_hash"), table_name="appointments")
    op.drop_column("appointments", "client_hash")
    op.drop_column("appointments", "session_hash")
