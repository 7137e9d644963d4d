"""fair access: waiting list, offers, reservations, release windows and requests; service settings;
slot-version triggers on the two tables that withhold times (booking_reservations, release_windows).

Revision ID: 2301_fairness
Revises: 1907_merge_graph
"""

import sqlalchemy as sa
from alembic import op

revision = "2301_fairness"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None

TRIGGER_TABLES = ("booking_reservations", "release_windows")
OPERATIONS = ("insert", "update", "delete")


def _utc():
    return sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("waiting_list", sa.String(12), nullable=False, server_default="when_full"))
        batch.add_column(sa.Column("offer_hours", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("offer_group_size", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("release_days_ahead", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("release_hour", sa.Integer(), nullable=False, server_default="8"))
        batch.add_column(sa.Column("release_window_minutes", sa.Integer(), nullable=False, server_default="15"))
    op.create_table(
        "waiting_list_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("email_hash", sa.String(64)),
        sa.Column("confirm_token_hash", sa.String(64), unique=True),
        sa.Column("manage_token_hash", sa.String(64), unique=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("confirmed_at", _utc()),
        sa.Column("ended_at", _utc()),
        sa.Column("end_reason", sa.String(24)),
        sa.CheckConstraint("status IN ('unconfirmed', 'waiting', 'offered', 'booked', 'left')",
                           name="status"),
    )
    op.create_index("ix_waiting_list_entries_service_id", "waiting_list_entries", ["service_id"])
    op.create_index("ix_waiting_list_entries_status", "waiting_list_entries", ["status"])
    op.create_index("ix_waiting_list_entries_email_hash", "waiting_list_entries", ["email_hash"])
    op.create_table(
        "booking_reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("start_at", _utc(), nullable=False),
        sa.Column("freed_appointment_id", sa.Integer()),
        sa.Column("created_at", _utc(), nullable=False),
        sa.UniqueConstraint("service_id", "location_id", "start_at"),
    )
    op.create_index("ix_booking_reservations_service_id", "booking_reservations", ["service_id"])
    op.create_table(
        "waiting_list_offers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("waiting_list_entries.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("location_id", sa.Integer(), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("start_at", _utc(), nullable=False),
        sa.Column("reservation_key", sa.String(80), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("sent_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("decided_at", _utc()),
        sa.Column("appointment_id", sa.Integer()),
        sa.CheckConstraint("status IN ('open', 'accepted', 'expired', 'lost', 'withdrawn')",
                           name="status"),
        sa.UniqueConstraint("reservation_key", "entry_id"),
    )
    op.create_index("ix_waiting_list_offers_entry_id", "waiting_list_offers", ["entry_id"])
    op.create_index("ix_waiting_list_offers_service_id", "waiting_list_offers", ["service_id"])
    op.create_index("ix_waiting_list_offers_status", "waiting_list_offers", ["status"])
    op.create_table(
        "release_windows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens_at", _utc(), nullable=False),
        sa.Column("closes_at", _utc(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("seed", sa.String(64)),
        sa.Column("allocation", sa.JSON()),
        sa.Column("drawn_at", _utc()),
        sa.UniqueConstraint("service_id", "day"),
        sa.CheckConstraint("status IN ('collecting', 'drawn')", name="status"),
    )
    op.create_index("ix_release_windows_service_id", "release_windows", ["service_id"])
    op.create_table(
        "release_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("window_id", sa.Integer(), sa.ForeignKey("release_windows.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(254)),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("confirmed_at", _utc()),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("result", sa.String(8)),
        sa.Column("appointment_id", sa.Integer()),
        sa.UniqueConstraint("window_id", "email_hash"),
    )
    op.create_index("ix_release_requests_window_id", "release_requests", ["window_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGGER_TABLES:
            op.execute(
                f"CREATE TRIGGER booking_slot_version_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION booking_slot_version_bump()")
    else:
        for table in TRIGGER_TABLES:
            for operation in OPERATIONS:
                op.execute(
                    f"CREATE TRIGGER booking_slot_version_{table}_{operation} AFTER {operation.upper()} "
                    f"ON {table} BEGIN UPDATE booking_slot_version SET token = lower(hex(randomblob(16))) "
                    f"WHERE id = 1; END")


def downgrade():
    for table in ("release_requests", "release_windows", "waiting_list_offers", "booking_reservations",
                  "waiting_list_entries"):
        op.drop_table(table)
    with op.batch_alter_table("services") as batch:
        for column in ("release_window_minutes", "release_hour", "release_days_ahead", "offer_group_size",
                       "offer_hours", "waiting_list"):
            batch.drop_column(column)
