"""booking: appointments and slot claims

Revision ID: 0201_booking
Revises: 0001_core
Create Date: 2026-11-22

On PostgreSQL the claims table also gets an exclusion constraint on overlapping staff time
(extension btree_gist), see citizen_portal/booking/models.py.
"""
import sqlalchemy as sa
from alembic import op

import citizen_portal.core.database

revision = "0201_booking"
down_revision = "0001_core"
branch_labels = ("booking",)
depends_on = None


def upgrade():
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("start_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("token_nonce", sa.String(length=64), nullable=True),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=True),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("hold_expires_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("moved_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending_confirmation', 'confirmed', 'cancelled', 'arrived', 'no_show', 'expired')",
            name=op.f("ck_appointments_status"),
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_appointments_end_after_start")),
        sa.CheckConstraint("blocked_until >= end_at", name=op.f("ck_appointments_blocked_after_end")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_appointments_location_id_locations")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_appointments_service_id_services")),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_appointments_staff_id_staff_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
        sa.UniqueConstraint("confirm_token_hash", name=op.f("uq_appointments_confirm_token_hash")),
        sa.UniqueConstraint("manage_token_hash", name=op.f("uq_appointments_manage_token_hash")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_email_hash"), ["email_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_location_id"), ["location_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_service_id"), ["service_id"], unique=False)
        batch_op.create_index("ix_appointments_staff_start", ["staff_id", "start_at"], unique=False)
        batch_op.create_index("ix_appointments_status_start", ["status", "start_at"], unique=False)

    op.create_table(
        "appointment_slot_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("start_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"],
            name=op.f("fk_appointment_slot_claims_appointment_id_appointments"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_appointment_slot_claims_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_slot_claims")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_appointment_slot_claims_appointment_id")),
        sa.UniqueConstraint("staff_id", "start_at", name=op.f("uq_appointment_slot_claims_staff_id_start_at")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointment_slot_claims ADD CONSTRAINT ex_appointment_slot_claims_overlap "
            "EXCLUDE USING gist (staff_id WITH =, tstzrange(start_at, blocked_until) WITH &&)"
        )


def downgrade():
    op.drop_table("appointment_slot_claims")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_status_start")
        batch_op.drop_index("ix_appointments_staff_start")
        batch_op.drop_index(batch_op.f("ix_appointments_service_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_location_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_email_hash"))
    op.drop_table("appointments")
