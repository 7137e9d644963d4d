"""booking: a slot input version per (staff member, UTC day) for appointments, instead of the one
``booking_slot_version`` row that every appointment rewrote (issue 13)

Revision ID: 2201_booking_staff_day_versions
Revises: 1907_merge_graph
Create Date: 2026-12-07

Appointments no longer replace the global token: a row trigger raises the version of the
(staff member, version day) of the old and of the new row instead, for the version day of
``start_at`` and of ``blocked_until``. The version day of a time is the UTC date of the time plus
two hours: the local date in Germany (exact in summer time; in winter 23:00-24:00 falls on the
next day), and correct for any zone, since a cached answer checks the version days of its UTC
range mapped the same way. Two bookings of
different staff members (or days) no longer wait for each other's commit on one row, and a booking
invalidates only the cached slot answers that cover that staff member and day. The version is a
fresh number that only grows (PostgreSQL: a sequence; SQLite, whose writers are serialised: the
largest so far + 1), so the sum over any set of rows changes with every change of one of them,
whatever order concurrent transactions commit in. TRUNCATE of appointments still replaces the
global token (PostgreSQL). The other slot input tables keep the global token.
"""
import sqlalchemy as sa
from alembic import op

revision = "2201_booking_staff_day_versions"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None

OPERATIONS = ("insert", "update", "delete")
COLUMNS = ("start_at", "blocked_until")
PG_DAY = "((({row}.{column} AT TIME ZONE 'UTC') + interval '2 hours')::date)"
PG_BUMP = ("INSERT INTO booking_staff_day_versions (staff_id, day, version) VALUES ({row}.staff_id, {day}, "
           "nextval('booking_staff_day_version_seq')) ON CONFLICT (staff_id, day) DO UPDATE SET version = "
           "excluded.version;")
SQLITE_BUMP = ("INSERT OR REPLACE INTO booking_staff_day_versions (staff_id, day, version) VALUES "
               "({row}.staff_id, date({row}.{column}, '+2 hours'), "
               "(SELECT coalesce(max(version), 0) + 1 FROM booking_staff_day_versions));")


def upgrade():
    op.create_table(
        "booking_staff_day_versions",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", "day", name=op.f("pk_booking_staff_day_versions")),
    )
    op.create_index("ix_booking_staff_day_versions_version", "booking_staff_day_versions", ["version"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS booking_slot_version_appointments ON appointments")
        op.execute("CREATE SEQUENCE booking_staff_day_version_seq")
        old, new = (" ".join(PG_BUMP.format(row=row, day=PG_DAY.format(row=row, column=column))
                             for column in COLUMNS) for row in ("OLD", "NEW"))
        op.execute(
            "CREATE FUNCTION booking_staff_day_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {old} END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {new} END IF; "
            "RETURN NULL; END $$"
        )
        op.execute("CREATE TRIGGER booking_staff_day_appointments AFTER INSERT OR UPDATE OR DELETE ON appointments "
                   "FOR EACH ROW EXECUTE FUNCTION booking_staff_day_bump()")
        op.execute("CREATE TRIGGER booking_slot_version_appointments_truncate AFTER TRUNCATE ON appointments "
                   "FOR EACH STATEMENT EXECUTE FUNCTION booking_slot_version_bump()")
    else:
        for operation in OPERATIONS:
            op.execute(f"DROP TRIGGER IF EXISTS booking_slot_version_appointments_{operation}")
            rows = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}[operation]
            body = " ".join(SQLITE_BUMP.format(row=row, column=column) for row in rows for column in COLUMNS)
            op.execute(f"CREATE TRIGGER booking_staff_day_appointments_{operation} AFTER {operation.upper()} "
                       f"ON appointments BEGIN {body} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS booking_staff_day_appointments ON appointments")
        op.execute("DROP TRIGGER IF EXISTS booking_slot_version_appointments_truncate ON appointments")
        op.execute("DROP FUNCTION IF EXISTS booking_staff_day_bump()")
        op.execute("DROP SEQUENCE IF EXISTS booking_staff_day_version_seq")
        op.execute("CREATE TRIGGER booking_slot_version_appointments AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                   "ON appointments FOR EACH STATEMENT EXECUTE FUNCTION booking_slot_version_bump()")
    else:
        for operation in OPERATIONS:
            op.execute(f"DROP TRIGGER IF EXISTS booking_staff_day_appointments_{operation}")
            op.execute(f"CREATE TRIGGER booking_slot_version_appointments_{operation} AFTER {operation.upper()} "
                       f"ON appointments BEGIN UPDATE booking_slot_version SET token = lower(hex(randomblob(16))) "
                       f"WHERE id = 1; END")
    op.drop_index("ix_booking_staff_day_versions_version", table_name="booking_staff_day_versions")
    op.drop_table("booking_staff_day_versions")
