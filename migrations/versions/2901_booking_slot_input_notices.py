"""booking: PostgreSQL notifies ``booking_slot_inputs`` whenever one of the three tables that validate
a cached slot answer changes (the input version, the staff/day versions, the calendar sync states),
so a process that listens need not read them on every cache hit (issue 13)

Revision ID: 2901_booking_slot_input_notices
Revises: 2852_fair_link_sent_at
Create Date: 2026-12-07 22:00:00

Statement-level triggers: one notice per writing statement, delivered at commit (several in one
transaction arrive as one). SQLite has no notices; nothing changes there.
"""

from alembic import op

revision = "2901_booking_slot_input_notices"
down_revision = "2852_fair_link_sent_at"
branch_labels = None
depends_on = None

CHANNEL = "booking_slot_inputs"  # booking.services.cache.NOTICE_CHANNEL
TABLES = ("booking_slot_version", "booking_staff_day_versions", "calendar_sync_states")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE FUNCTION booking_slot_inputs_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION booking_slot_inputs_notify()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS booking_slot_inputs_notify()")
