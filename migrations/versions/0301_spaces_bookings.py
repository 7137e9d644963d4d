"""spaces: desk and room bookings, blocks, feed tokens

Revision ID: 0301_spaces_bookings
Revises: 0001_core
"""
from alembic import op
import sqlalchemy as sa
import citizen_portal.core.database


revision = "0301_spaces_bookings"
down_revision = "0001_core"
branch_labels = ("spaces",)
depends_on = None


def upgrade():
    op.create_table(
        "desk_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("half", sa.String(length=9), nullable=False),
        sa.Column("group_uid", sa.String(length=64), nullable=False),
        sa.Column("series_uid", sa.String(length=64), nullable=True),
        sa.Column("checked_in_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("half IN ('morning', 'afternoon')", name=op.f("ck_desk_bookings_half_valid")),
        sa.ForeignKeyConstraint(["desk_id"], ["desks.id"], name=op.f("fk_desk_bookings_desk_id_desks"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_desk_bookings_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_bookings")),
        sa.UniqueConstraint("desk_id", "day", "half", name="uq_desk_bookings_desk_day_half"),
        sa.UniqueConstraint("user_id", "day", "half", name="uq_desk_bookings_user_day_half"),
    )
    op.create_index("ix_desk_bookings_day", "desk_bookings", ["day"], unique=False)
    op.create_index(op.f("ix_desk_bookings_group_uid"), "desk_bookings", ["group_uid"], unique=False)
    op.create_index(op.f("ix_desk_bookings_user_id"), "desk_bookings", ["user_id"], unique=False)

    op.create_table(
        "room_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("start_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_room_bookings_range_valid")),
        sa.CheckConstraint("attendees >= 1", name=op.f("ck_room_bookings_attendees_positive")),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_bookings_room_id_rooms"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_room_bookings_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_bookings")),
        sa.UniqueConstraint("uid", name=op.f("uq_room_bookings_uid")),
    )
    op.create_index("ix_room_bookings_room_start", "room_bookings", ["room_id", "start_at"], unique=False)
    op.create_index(op.f("ix_room_bookings_user_id"), "room_bookings", ["user_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # no two bookings of one room overlap: [start, end) ranges, enforced by the database
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE room_bookings ADD CONSTRAINT ex_room_bookings_no_overlap "
            "EXCLUDE USING gist (room_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)"
        )

    op.create_table(
        "space_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(desk_id IS NULL) <> (room_id IS NULL)", name=op.f("ck_space_blocks_one_target")),
        sa.CheckConstraint("last_day >= first_day", name=op.f("ck_space_blocks_days_valid")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_space_blocks_created_by_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["desk_id"], ["desks.id"], name=op.f("fk_space_blocks_desk_id_desks"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_space_blocks_room_id_rooms"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_blocks")),
    )
    op.create_index(op.f("ix_space_blocks_desk_id"), "space_blocks", ["desk_id"], unique=False)
    op.create_index(op.f("ix_space_blocks_room_id"), "space_blocks", ["room_id"], unique=False)

    op.create_table(
        "space_feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", citizen_portal.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_space_feed_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_space_feed_tokens_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_space_feed_tokens_user_id")),
    )


def downgrade():
    op.drop_table("space_feed_tokens")
    op.drop_index(op.f("ix_space_blocks_room_id"), table_name="space_blocks")
    op.drop_index(op.f("ix_space_blocks_desk_id"), table_name="space_blocks")
    op.drop_table("space_blocks")
    op.drop_index(op.f("ix_room_bookings_user_id"), table_name="room_bookings")
    op.drop_index("ix_room_bookings_room_start", table_name="room_bookings")
    op.drop_table("room_bookings")
    op.drop_index(op.f("ix_desk_bookings_user_id"), table_name="desk_bookings")
    op.drop_index(op.f("ix_desk_bookings_group_uid"), table_name="desk_bookings")
    op.drop_index("ix_desk_bookings_day", table_name="desk_bookings")
    op.drop_table("desk_bookings")
