"""The model server's tables: the prediction log (team mode) and the append-only traffic splits.

Revision ID: 0005_predictions
Revises: 0004_snapshots
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from modelyard.store._types import UTCDateTime

revision = "0005_predictions"
down_revision = "0004_snapshots"
branch_labels = None
depends_on = None

_APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION modelyard_traffic_splits_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'traffic_splits is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("inputs", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("decision", sa.Boolean, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_predictions"),
    )
    op.create_index("ix_predictions_use_case_at", "predictions", ["use_case", "at"])
    op.create_table(
        "traffic_splits",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("use_case", sa.String(64), nullable=False),
        sa.Column("canary_fraction", sa.Float, nullable=False),
        sa.Column("canary_version", sa.Integer),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_traffic_splits"),
        sa.ForeignKeyConstraint(["use_case"], ["use_cases.name"], name="fk_traffic_splits_use_case_use_cases"),
    )
    op.create_index("ix_traffic_splits_use_case", "traffic_splits", ["use_case"])

    # Like stage_changes, the record of who changed a split can only grow.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_APPEND_ONLY_PG)
        op.execute(
            "CREATE TRIGGER traffic_splits_append_only BEFORE UPDATE OR DELETE ON traffic_splits "
            "FOR EACH ROW EXECUTE FUNCTION modelyard_traffic_splits_append_only()"
        )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER traffic_splits_no_{event.lower()} BEFORE {event} ON traffic_splits "
                f"BEGIN SELECT RAISE(ABORT, 'traffic_splits is append-only: {event} is not allowed'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS traffic_splits_append_only ON traffic_splits")
        op.execute("DROP FUNCTION IF EXISTS modelyard_traffic_splits_append_only()")
    op.drop_table("traffic_splits")
    op.drop_table("predictions")
