"""core: users linked to the city's OpenID provider by issuer + subject

Revision ID: 1403_user_oidc_subject
Revises: 1402_request_ids
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "1403_user_oidc_subject"
down_revision = "1402_request_ids"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("oidc_issuer", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.create_unique_constraint("uq_users_oidc_issuer_subject", ["oidc_issuer", "oidc_subject"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_oidc_issuer_subject", type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
