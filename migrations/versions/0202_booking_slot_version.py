"""booking: slot version row + triggers that replace its token on every change of a slot input

Revision ID: 0202_booking_slot_version
Revises: 0201_booking
Create Date: 2026-11-30

See citizen_portal/booking/models.py (SlotVersion). PostgreSQL: one statement-level trigger per
table; SQLite: one trigger per table and operation.
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0202_booking_slot_version"
down_revision = "0201_booking"
branch_labels = None
depends_on = None

# frozen copy of citizen_portal.booking.models.SLOT_INPUT_TABLES at this revision
TABLES = (
    "appointments", "locations", "services", "staff_members", "staff_locations", "staff_services",
    "service_locations", "site_settings",
)
OPERATIONS = ("insert", "update", "delete")


def upgrade():
    op.create_table(
        "booking_slot_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_slot_version")),
    )
    op.execute(sa.text("INSERT INTO booking_slot_version (id, token) VALUES (1, :token)")
               .bindparams(token=uuid.uuid4().hex))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION booking_slot_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE booking_slot_version SET token = md5(random()::text || clock_timestamp()::text) WHERE id = 1; "
            "RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER booking_slot_version_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION booking_slot_version_bump()"
            )
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(
                    f"CREATE TRIGGER booking_slot_version_{table}_{operation} AFTER {operation.upper()} "
                    f"ON {table} BEGIN UPDATE booking_slot_version SET token = lower(hex(randomblob(16))) "
                    f"WHERE id = 1; END"
                )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS booking_slot_version_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS booking_slot_version_bump()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS booking_slot_version_{table}_{operation}")
    op.drop_table("booking_slot_version")
