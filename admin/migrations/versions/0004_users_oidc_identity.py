"""Each desk user's OpenID Connect account (issuer and subject), bound at the first OIDC sign-in.

Revision ID: 0004_oidc_identity
Revises: 0003_users
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_oidc_identity"
down_revision = "0003_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: existing users, and users who sign in with a password, have no such account.
    op.add_column("users", sa.Column("oidc_issuer", sa.String(255), nullable=True))
    op.add_column("users", sa.Column("oidc_subject", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
