"""spaces: PostgreSQL notifies ``spaces_desk_inputs`` whenever desk bookings or blocks change, the two
tables of the desk availability answer's fingerprint, so a process that listens need not read the
fingerprint on every request (issue 13)

Revision ID: 2902_spaces_desk_input_notices
Revises: 2901_booking_slot_input_notices
Create Date: 2026-12-07 22:00:00

Statement-level triggers, as in 2901. SQLite has no notices; nothing changes there.
"""

from alembic import op

revision = "2902_spaces_desk_input_notices"
down_revision = "2901_booking_slot_input_notices"
branch_labels = None
depends_on = None

CHANNEL = "spaces_desk_inputs"  # staff_calendar.spaces.services.desk_availability.NOTICE_CHANNEL
TABLES = ("desk_bookings", "space_blocks")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE FUNCTION spaces_desk_inputs_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION spaces_desk_inputs_notify()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS spaces_desk_inputs_notify()")
