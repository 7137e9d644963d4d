"""core: Graph change-notification subscriptions; webhook deliveries may belong to one of them

Revision ID: 2101_graph_subscriptions
Revises: 1907_merge_graph
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from citizen_portal.core.database import UTCDateTime

revision = "2101_graph_subscriptions"
down_revision = "1907_merge_graph"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "graph_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=120), nullable=False),
        sa.Column("permission", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("item_path", sa.String(length=300), nullable=False),
        sa.Column("odata_type", sa.String(length=80), nullable=False),
        sa.Column("change_types", sa.String(length=60), nullable=False),
        sa.Column("client_state", sa.String(length=255), nullable=True),
        sa.Column("notification_url", sa.String(length=2000), nullable=False),
        sa.Column("lifecycle_url", sa.String(length=2000), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("warned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_subscriptions")),
    )
    op.create_index(op.f("ix_graph_subscriptions_principal"), "graph_subscriptions", ["principal"])
    op.create_index(op.f("ix_graph_subscriptions_expires_at"), "graph_subscriptions", ["expires_at"])
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("graph_subscription_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(op.f("fk_webhook_deliveries_graph_subscription_id_graph_subscriptions"),
                                 "graph_subscriptions", ["graph_subscription_id"], ["id"], ondelete="CASCADE")
        batch.create_index(op.f("ix_webhook_deliveries_graph_subscription_id"), ["graph_subscription_id"])
        batch.create_index("uq_webhook_deliveries_graph_pair", ["graph_subscription_id", "event_id"], unique=True)


def downgrade():
    op.execute("DELETE FROM webhook_deliveries WHERE subscription_id IS NULL")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("uq_webhook_deliveries_graph_pair")
        batch.drop_index(op.f("ix_webhook_deliveries_graph_subscription_id"))
        batch.drop_constraint(op.f("fk_webhook_deliveries_graph_subscription_id_graph_subscriptions"),
                              type_="foreignkey")
        batch.drop_column("graph_subscription_id")
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_graph_subscriptions_expires_at"), table_name="graph_subscriptions")
    op.drop_index(op.f("ix_graph_subscriptions_principal"), table_name="graph_subscriptions")
    op.drop_table("graph_subscriptions")
