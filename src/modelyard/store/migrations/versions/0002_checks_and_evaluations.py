"""Results of handoff checks and business evaluations, linked to their versions.

Revision ID: 0002_checks_and_evaluations
Revises: 0001_registry
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelyard.store._types import UTCDateTime

revision = "0002_checks_and_evaluations"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("data_ref", sa.Text),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_check_results"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_check_results_use_case_use_cases"),
    )
    op.create_index("ix_check_results_use_case_version", "check_results", ["use_case", "version"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("challenger_version", sa.Integer, nullable=False),
        sa.Column("champion_version", sa.Integer),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("data_ref", sa.Text),
        sa.Column("cost_model_sha256", sa.String(64)),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("report_path", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_evaluations_use_case_use_cases"),
    )
    op.create_index("ix_evaluations_use_case_challenger_version", "evaluations", ["use_case", "challenger_version"])


def downgrade() -> None:
    op.drop_table("evaluations")
    op.drop_table("check_results")
