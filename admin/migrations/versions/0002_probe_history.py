"""The history of SMTP tests: account, connection, when, outcome code, duration, transcript.

Revision ID: 0002_probes
Revises: 0001_accounts
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_probes"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("connection_label", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(40), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
    )
    op.create_index("ix_probes_account_id", "probes", ["account_id"])
    op.create_index("ix_probes_connection_id", "probes", ["connection_id"])


def downgrade() -> None:
    op.drop_index("ix_probes_connection_id", table_name="probes")
    op.drop_index("ix_probes_account_id", table_name="probes")
    op.drop_table("probes")
