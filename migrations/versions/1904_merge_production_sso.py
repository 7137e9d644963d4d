"""merge heads: 1403_user_oidc_subject 1903_merge_booking_holds

Revision ID: 1904_merge_production_sso
Revises: 1403_user_oidc_subject, 1903_merge_booking_holds
Create Date: 2026-12-07 05:01:23
"""

revision = "1904_merge_production_sso"
down_revision = ("1403_user_oidc_subject","1903_merge_booking_holds")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
