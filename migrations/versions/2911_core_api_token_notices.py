"""core: PostgreSQL notifies ``api_token_inputs`` whenever what authenticates a personal API token
changes (a token is revoked, re-dated or removed; its person changes or is removed), so a process that
listens need not read the token on every request (issue 13)

Revision ID: 2911_core_api_token_notices
Revises: 2910_spaces_desk_day_created
Create Date: 2026-12-08 01:10:00

``api_tokens``: row triggers on updates that change anything but ``last_used_at`` (written at most
once a minute per token by every use: it must not wake every cache) and statement triggers on
deletes and truncation. ``users``: any update, delete or truncation. Inserts change no known token.
SQLite has no notices; nothing changes there.
"""

from alembic import op

revision = "2911_core_api_token_notices"
down_revision = "2910_spaces_desk_day_created"
branch_labels = None
depends_on = None

CHANNEL = "api_token_inputs"  # citizen_portal.core.api_tokens.NOTICE_CHANNEL
TOKEN_FIELDS = ("token_hash", "user_id", "expires_at", "revoked_at")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE FUNCTION api_token_inputs_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$")
    changed = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in TOKEN_FIELDS)
    op.execute(f"CREATE TRIGGER api_tokens_update_notify AFTER UPDATE ON api_tokens FOR EACH ROW WHEN ({changed}) "
               "EXECUTE FUNCTION api_token_inputs_notify()")
    op.execute("CREATE TRIGGER api_tokens_delete_notify AFTER DELETE OR TRUNCATE ON api_tokens "
               "FOR EACH STATEMENT EXECUTE FUNCTION api_token_inputs_notify()")
    op.execute("CREATE TRIGGER users_notify AFTER UPDATE OR DELETE OR TRUNCATE ON users "
               "FOR EACH STATEMENT EXECUTE FUNCTION api_token_inputs_notify()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS users_notify ON users")
    op.execute("DROP TRIGGER IF EXISTS api_tokens_delete_notify ON api_tokens")
    op.execute("DROP TRIGGER IF EXISTS api_tokens_update_notify ON api_tokens")
    op.execute("DROP FUNCTION IF EXISTS api_token_inputs_notify()")
