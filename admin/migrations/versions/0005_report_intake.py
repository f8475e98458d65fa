"""The report mailbox (issue 15): its settings, the password encrypted, and each run's counts.

Revision ID: 0005_intake
Revises: 0004_oidc_identity
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_intake"
down_revision = "0004_oidc_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_mailbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(16), nullable=False),
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("password_hint", sa.String(64), nullable=False),
        sa.Column("folder", sa.String(255), nullable=False),
        sa.Column("archive_folder", sa.String(255), nullable=False),
        sa.Column("invalid_folder", sa.String(255), nullable=False),
        sa.Column("ca_pem", sa.Text(), nullable=True),
        sa.Column("max_message_bytes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "intake_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
    )
    op.create_index("ix_intake_runs_started_at", "intake_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_intake_runs_started_at", table_name="intake_runs")
    op.drop_table("intake_runs")
    op.drop_table("intake_mailbox")
