"""Snapshots of production data, content-hashed.

Revision ID: 0004_snapshots
Revises: 0003_research_board
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelyard.store._types import UTCDateTime

revision = "0004_snapshots"
down_revision = "0003_research_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("time_column", sa.String(128)),
        sa.Column("range_start", UTCDateTime),
        sa.Column("range_end", UTCDateTime),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("feature_code", sa.Text, nullable=False),
        sa.Column("feature_code_sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_snapshots_use_case_use_cases"),
    )
    op.create_index("ix_snapshots_use_case", "snapshots", ["use_case"])


def downgrade() -> None:
    op.drop_table("snapshots")
