"""public rooms: rooms.public, room requests and their uses (issue 16)

Revision ID: 2401_public_rooms
Revises: 1907_merge_graph
"""
from alembic import op
import sqlalchemy as sa
import citizen_portal.core.database


revision = "2401_public_rooms"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None

UTC = citizen_portal.core.database.UTCDateTime


def upgrade():
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("public", sa.JSON(), nullable=True))
    op.create_table(
        "room_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("organisation_key", sa.String(length=64), nullable=True),
        sa.Column("show_organisation", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=1000), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("verify_token_hash", sa.String(length=64), nullable=True),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC(timezone=True), nullable=True),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.CheckConstraint("attendees >= 1", name=op.f("ck_room_requests_attendees_positive")),
        sa.CheckConstraint("status IN ('unverified', 'pending', 'approved', 'declined', 'cancelled')",
                           name=op.f("ck_room_requests_status_valid")),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_requests_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_room_requests_decided_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_requests")),
        sa.UniqueConstraint("verify_token_hash", name=op.f("uq_room_requests_verify_token_hash")),
        sa.UniqueConstraint("manage_token_hash", name=op.f("uq_room_requests_manage_token_hash")),
    )
    op.create_index(op.f("ix_room_requests_room_id"), "room_requests", ["room_id"], unique=False)
    op.create_index(op.f("ix_room_requests_email_key"), "room_requests", ["email_key"], unique=False)
    op.create_index(op.f("ix_room_requests_organisation_key"), "room_requests", ["organisation_key"], unique=False)
    op.create_table(
        "room_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTC(timezone=True), nullable=False),
        sa.Column("end_at", UTC(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("no_show", sa.Boolean(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_room_uses_range_valid")),
        sa.CheckConstraint("status IN ('wanted', 'held', 'confirmed', 'taken', 'declined', 'cancelled')",
                           name=op.f("ck_room_uses_status_valid")),
        sa.ForeignKeyConstraint(["request_id"], ["room_requests.id"],
                                name=op.f("fk_room_uses_request_id_room_requests"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_uses_room_id_rooms"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_uses")),
        sa.UniqueConstraint("uid", name=op.f("uq_room_uses_uid")),
    )
    op.create_index(op.f("ix_room_uses_request_id"), "room_uses", ["request_id"], unique=False)
    op.create_index("ix_room_uses_room_start", "room_uses", ["room_id", "start_at"], unique=False)


def downgrade():
    op.drop_table("room_uses")
    op.drop_table("room_requests")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("public")
